"""Exporting the filtered activity list to Excel and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from urllib.parse import quote

from openpyxl import load_workbook

from qmonth.models import ActivityState

from tests.activities.test_activity_list import no_activities  # noqa: F401 (autouse fixture)
from tests.helpers import build_activity

BASE_HEADERS = [
    "序号", "单位", "城市", "活动名称", "活动类型", "重点任务", "开始日期", "结束日期", "县（市、区）", "详细地点",
    "参与人次", "主办单位", "协办单位", "联系人", "联系电话", "状态", "宣传推广", "报送时间", "活动内容", "活动成效",
]


def open_xlsx(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))["活动清单"]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def by_header(rows: list[list], header: str) -> list:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def sheet_rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_has_chinese_headers_frozen_row_and_one_row_per_filtered_activity(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训", tasks=[2, 5], participants=80, county="历下区", address="经十路 1 号",
                  organiser="济南市住建局", contact_name="张三", contact_phone="0531-1234567",
                  description="讲解规范", results="覆盖 80 人", state=ActivityState.SUBMITTED,
                  submitted_at=datetime(2024, 9, 5, 2, 30, tzinfo=timezone.utc))
    build_activity("jinan-zj", "宣传活动", kind="publicity")
    build_activity("jinan-zj", "钢筋验收观摩", kind="site_tour")
    login_as("jinan-zj")
    sheet = open_xlsx(client.get("/activities/export.xlsx?q=钢筋&kind=training"))
    rows = sheet_rows(sheet)
    assert rows[0][:len(BASE_HEADERS)] == BASE_HEADERS
    assert len(rows) - 1 == 1
    assert sheet.freeze_panes == "A2"
    record = dict(zip(rows[0], rows[1]))
    assert record["序号"] == 1
    assert record["单位"] == "济南市住房和城乡建设局" and record["城市"] == "济南"
    assert record["重点任务"] == "2 加大培训宣贯力度、5 开展现场技术交流"
    assert record["开始日期"] == datetime(2024, 9, 10)
    assert record["参与人次"] == 80
    assert record["状态"] == "已报送"
    assert record["报送时间"] == datetime(2024, 9, 5, 10, 30)  # shown in Asia/Shanghai
    assert record["联系电话"] == "0531-1234567"


def test_every_kind_figure_has_its_own_column_and_values_land_in_it(app, client, login_as):
    build_activity("jinan-zj", "培训", figures={"mode": "线下", "trainees": 120, "class_hours": 8})
    build_activity("jinan-zj", "宣传", kind="publicity",
                  figures={"channels": ["官方网站", "公众号"], "slogans": [1, 2], "banners": 30})
    build_activity("jinan-zj", "巡查", kind="inspection", figures={"problems_found": 7})
    build_activity("jinan-zj", "开放日", kind="testing", figures={"problems_found": 3})
    login_as("jinan-zj")
    rows = sheet_rows(open_xlsx(client.get("/activities/export.xlsx?sort=title")))
    header = rows[0]
    assert "培训宣贯·培训人数（人次）" in header
    assert "督导帮扶/巡查·发现问题（项）" in header and "检测开放日/专项检查·发现问题（项）" in header
    records = {row[header.index("活动名称")]: dict(zip(header, row)) for row in rows[1:]}
    assert records["培训"]["培训宣贯·培训人数（人次）"] == 120
    assert records["培训"]["培训宣贯·培训方式"] == "线下"
    assert records["宣传"]["主题宣传·宣传渠道"] == "官方网站、公众号"
    assert records["宣传"]["主题宣传·使用的宣传标语"] == "实施质量强国战略 推进高质量发展、培育新质生产力 赋能高质量发展"
    # Two kinds share the code problems_found: each value stays in its own kind's column.
    assert records["巡查"]["督导帮扶/巡查·发现问题（项）"] == 7
    assert records["巡查"]["检测开放日/专项检查·发现问题（项）"] is None
    assert records["开放日"]["检测开放日/专项检查·发现问题（项）"] == 3
    assert records["培训"]["督导帮扶/巡查·发现问题（项）"] is None


def test_columns_are_wide_enough_for_chinese_text(app, client, login_as):
    build_activity("jinan-zj", "建筑工程质量安全标准化观摩交流活动", description="很长的活动内容" * 40)
    login_as("jinan-zj")
    sheet = open_xlsx(client.get("/activities/export.xlsx"))
    header = [cell.value for cell in sheet[1]]

    def width(name):
        letter = sheet.cell(row=1, column=header.index(name) + 1).column_letter
        return sheet.column_dimensions[letter].width

    assert width("活动名称") >= 2 * 17  # 17 Chinese characters, each two columns wide
    assert width("县（市、区）") >= 2 * 6
    assert width("城市") < width("活动名称")
    assert width("活动内容") <= 60  # long text is capped, not a mile-wide column


def test_export_has_a_chinese_filename_with_an_ascii_fallback(app, client, login_as):
    login_as("jinan-zj")
    response = client.get("/activities/export.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("质量月活动清单-") in disposition
    assert disposition.endswith(".xlsx")
    assert 'filename="qmonth-activities-' in disposition
    disposition.encode("latin-1")  # a header must be sent as Latin-1
    assert "export.csv" not in disposition
    csv_disposition = client.get("/activities/export.csv").headers["Content-Disposition"]
    assert csv_disposition.endswith(".csv") and "filename*=UTF-8''" in csv_disposition


def test_csv_has_a_bom_the_same_columns_and_the_filtered_rows(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训", starts_on=date(2024, 9, 3), figures={"trainees": 40})
    build_activity("jinan-zj", "宣传活动", kind="publicity", state=ActivityState.ACCEPTED, is_highlight=True)
    login_as("jinan-zj")
    rows = read_csv(client.get("/activities/export.csv?state=accepted"))
    assert rows[0][:len(BASE_HEADERS)] == BASE_HEADERS
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1]))
    assert record["活动名称"] == "宣传活动" and record["宣传推广"] == "是" and record["状态"] == "已采纳"
    xlsx_header = sheet_rows(open_xlsx(client.get("/activities/export.xlsx")))[0]
    assert rows[0] == xlsx_header
    all_rows = read_csv(client.get("/activities/export.csv"))
    training = next(row for row in all_rows if "钢筋培训" in row)
    assert dict(zip(all_rows[0], training))["开始日期"] == "2024-09-03"
    assert dict(zip(all_rows[0], training))["培训宣贯·培训人数（人次）"] == "40"


def test_formula_looking_text_is_inert_in_both_files(app, client, login_as):
    build_activity("jinan-zj", "=1+1", address="@SUM(A1:A2)", contact_phone="+8653112345",
                  description="-2+3", results="\t=cmd", organiser="正常文本")
    login_as("jinan-zj")
    sheet = open_xlsx(client.get("/activities/export.xlsx"))
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("活动名称") + 1)
    assert cell.value == "'=1+1"
    assert cell.data_type == "s"
    values = {name: sheet.cell(row=2, column=index + 1).value for index, name in enumerate(header)}
    assert values["详细地点"] == "'@SUM(A1:A2)"
    assert values["联系电话"] == "'+8653112345"
    assert values["活动内容"] == "'-2+3"
    assert values["活动成效"] == "'\t=cmd"
    assert values["主办单位"] == "正常文本"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)

    rows = read_csv(client.get("/activities/export.csv"))
    record = dict(zip(rows[0], rows[1]))
    assert record["活动名称"] == "'=1+1"
    assert record["详细地点"] == "'@SUM(A1:A2)"
    assert record["活动成效"] == "'\t=cmd"


def test_a_bureau_exports_only_its_own_rows(app, client, login_as):
    build_activity("jinan-zj", "济南的活动")
    build_activity("qingdao-zj", "青岛的活动")
    login_as("jinan-zj")
    for path in ("/activities/export.xlsx?unit=qingdao-zj", "/activities/export.csv?city=青岛"):
        response = client.get(path)
        if path.endswith("unit=qingdao-zj"):
            rows = sheet_rows(open_xlsx(response))
        else:
            rows = read_csv(response)
        assert by_header(rows, "活动名称") == ["济南的活动"]
        assert set(by_header(rows, "单位")) == {"济南市住房和城乡建设局"}


def test_province_exports_every_page_of_the_filtered_list(app, client, login_as):
    for number in range(25):
        build_activity("jinan-zj" if number % 2 else "qingdao-zj", f"活动{number}")
    build_activity("qingdao-zj", "宣传", kind="publicity")
    login_as("province")
    rows = sheet_rows(open_xlsx(client.get("/activities/export.xlsx?kind=training&page=2")))
    assert len(rows) - 1 == 25
    assert by_header(rows, "序号") == list(range(1, 26))


def test_export_ignores_bad_parameters(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训")
    login_as("jinan-zj")
    response = client.get("/activities/export.csv?page=abc&kind=nope&date_from=x&sort=;")
    assert len(read_csv(response)) == 2


def test_export_needs_a_login(client):
    assert client.get("/activities/export.xlsx").status_code == 302
    assert client.get("/activities/export.csv").status_code == 302


def test_text_that_looks_like_an_error_value_stays_text(app, client, login_as):
    build_activity("jinan-zj", "#N/A")
    login_as("jinan-zj")
    sheet = open_xlsx(client.get("/activities/export.xlsx"))
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("活动名称") + 1)
    assert (cell.value, cell.data_type) == ("#N/A", "s")
