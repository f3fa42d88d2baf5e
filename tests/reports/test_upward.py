"""The root's report is the province's summary to the ministry: an upward document (上行文, GB/T 9704)
with its 发文字号 and 签发人, addressed to the campaign file's upward_addressee, the 全省汇总 as its annex.
A county's report is addressed to its parent unit; the Word file lists a roll-up's entries by unit."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document

from qmonth.extensions import db
from qmonth.models import ActivityState

from tests.reports.support import clear_subtree, pdf_text, squash
from tests.reports.test_reports import open_campaign, open_editor, report_of, save, submit

ROOT = "shandong-zjt"
LIXIA = "历下区住房城乡建设局"


@pytest.fixture
def province_story(app, make_activity, user_named):
    clear_subtree("jinan-zj")
    open_campaign()
    return {
        "root": make_activity(ROOT, title="全省质量安全讲堂", state=ActivityState.SUBMITTED, participants=300,
                              author=user_named("province")),
        "jinan": make_activity("jinan-zj", title="全市住宅工程巡查", state=ActivityState.ACCEPTED, participants=20),
        "lixia": make_activity("jinan-lixia-zj", title="历下区工地巡查", state=ActivityState.ACCEPTED, participants=10),
    }


def _fill(client, **fields):
    _, revision = open_editor(client, ROOT)
    for field, value in fields.items():
        response = save(client, field, value, revision, code=ROOT)
        assert response.status_code == 200, response.get_data(as_text=True)
        revision = report_of(ROOT).revision
    return revision


def test_the_root_pdf_is_an_upward_document_with_the_provincial_annex(client, login_as, province_story):
    login_as("province")
    overview = client.get("/reports/").get_data(as_text=True)
    assert f'href="/reports/{ROOT}" id="own-report-link">本厅总结报告（报住房和城乡建设部办公厅）' in overview
    page, _ = open_editor(client, ROOT)
    assert 'id="sec-doc_number"' in page and 'id="sec-signer"' in page and "住房和城乡建设部办公厅" in page
    _fill(client, doc_number="鲁建质安函[2024]12号", signer="张三")
    assert report_of(ROOT).doc_number == "鲁建质安函〔2024〕12号"  # brackets made GB/T 9704's 〔〕
    text = squash(pdf_text(client.get(f"/reports/{ROOT}.pdf").get_data()))
    head = text[:text.index("一、基本情况")]
    assert "山东省住房和城乡建设厅文件" in head
    assert "鲁建质安函〔2024〕12号" in head and "签发人：张三" in head
    assert "住房和城乡建设部办公厅：" in head and "省住房城乡建设厅：" not in head
    assert "印发《关于开展2024年全省住建系统“质量月”活动的通知》" in text
    annex = text[text.index("附件1“质量月”活动全省汇总表"):text.index("附件2")]
    assert annex.count("报送") >= 44
    for name in ("济南市住房和城乡建设局", "济南市城乡交通运输局", "菏泽市住房和城乡建设局"):
        assert name in annex
    assert LIXIA not in annex  # the addressed units only: the 44 of the notice
    # the body rolls up the whole province: 本级 and the 44 units below (济南's county entry included)
    assert "其中，本级开展活动1项，参与300人次；所辖44个单位" in text
    assert "全省质量安全讲堂" in text and "历下区工地巡查" in text


def test_the_annex_lists_all_44_units(client, login_as, province_story):
    from qmonth.reports.data import annex_rows
    from qmonth.models import Campaign
    from sqlalchemy import select

    rows = annex_rows(db.session.scalar(select(Campaign).where(Campaign.is_active)))
    assert len(rows) == 44
    login_as("province")
    text = squash(pdf_text(client.get(f"/reports/{ROOT}.pdf").get_data()))
    annex = text[text.index("附件1“质量月”活动全省汇总表"):text.index("附件2")]
    assert all(row.name in annex for row in rows)


@pytest.mark.parametrize("field, value, message", [
    ("doc_number", "鲁建质安函2024第12号", "发文字号应为“机关代字〔年份〕序号号”"),
    ("doc_number", "鲁" * 35 + "〔2024〕12号", "发文字号不超过40字"),
    ("doc_number", "鲁建〔２０２４〕12号", "发文字号应为"),
    ("signer", "张" * 21, "签发人不超过20字"),
    ("signer", "张\u202e三", "文字方向控制字符"),
    ("signer", "张😀", "表情符号"),
])
def test_a_bad_doc_number_or_signer_is_refused_in_chinese(client, login_as, province_story, field, value, message):
    login_as("province")
    _, revision = open_editor(client, ROOT)
    response = save(client, field, value, revision, code=ROOT)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert getattr(report_of(ROOT), field) == ""


def test_submit_without_doc_number_is_refused_and_keeps_what_was_typed(client, login_as, province_story):
    login_as("province")
    revision = _fill(client, problems="已写好的问题。")
    response = submit(client, ROOT, revision, problems="提交时改写的问题。", signer="李四", doc_number="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写发文字号后再报送。" in page
    assert "提交时改写的问题。" in page and 'value="李四"' in page
    assert report_of(ROOT).state.value == "draft"
    response = submit(client, ROOT, revision, problems="x", signer="李四", doc_number="鲁建质安函〔2024〕第12号")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "发文字号应为" in page, re.search(r'id="report-error">([^<]*)', page).group(1) and "鲁建质安函〔2024〕第12号" in page and 'value="李四"' in page


def test_a_rare_character_in_the_signer_prints(client, login_as, province_story):
    login_as("province")
    _fill(client, doc_number="鲁建质安函〔2024〕3号", signer="王𪚥")
    text = squash(pdf_text(client.get(f"/reports/{ROOT}.pdf").get_data()))
    assert "签发人：王𪚥" in text
    word = Document(io.BytesIO(client.get(f"/reports/{ROOT}.docx").get_data()))
    assert any(p.text == "鲁建质安函〔2024〕3号\t签发人：王𪚥" for p in word.paragraphs[:4])


def test_the_submitted_root_pdf_does_not_change_with_later_edits_below(client, login_as, province_story):
    login_as("province")
    revision = _fill(client, doc_number="鲁建质安函〔2024〕12号", signer="张三")
    response = submit(client, ROOT, revision, problems="报送时的问题。")
    assert response.status_code == 302
    before = client.get(f"/reports/{ROOT}.pdf").get_data()
    province_story["jinan"].title = "报送后改名的巡查"
    province_story["jinan"].participants = 999
    db.session.commit()
    login_as("jinan-zj-admin")
    _, jinan_revision = open_editor(client, "jinan-zj")
    assert submit(client, "jinan-zj", jinan_revision, problems="济南报送。").status_code == 302
    login_as("province")
    after = client.get(f"/reports/{ROOT}.pdf").get_data()
    assert after == before
    text = squash(pdf_text(after))
    assert "报送后改名的巡查" not in text and "签发人：张三" in text


def test_another_unit_cannot_set_a_doc_number(client, login_as, province_story):
    login_as("jinan-zj-admin")
    _, revision = open_editor(client, "jinan-zj")
    assert 'id="sec-doc_number"' not in open_editor(client, "jinan-zj")[0]
    response = save(client, "doc_number", "济建〔2024〕1号", revision)
    assert response.status_code == 422 and "只有发文单位" in response.get_data(as_text=True)


def test_a_countys_report_is_addressed_to_its_city(client, login_as, province_story):
    login_as("jinan-lixia-zj-admin")
    page, _ = open_editor(client, "jinan-lixia-zj")
    assert "按照济南市住房和城乡建设局《关于开展" in page
    text = squash(pdf_text(client.get("/reports/jinan-lixia-zj.pdf").get_data()))
    assert "济南市住房和城乡建设局：" in text and "省住房城乡建设厅" not in text
    assert "山东省住房和城乡建设厅文件" not in text and "签发人" not in text
    word = Document(io.BytesIO(client.get("/reports/jinan-lixia-zj.docx").get_data()))
    assert any(p.text == "济南市住房和城乡建设局：" for p in word.paragraphs)


def test_a_city_report_is_still_addressed_to_the_province(client, login_as, province_story):
    login_as("jinan-zj-admin")
    text = squash(pdf_text(client.get("/reports/jinan-zj.pdf").get_data()))
    assert "省住房城乡建设厅：" in text and "签发人" not in text


def _docx_lines(response) -> list[str]:
    document = Document(io.BytesIO(response.get_data()))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return lines


def test_the_word_file_lists_a_rollup_by_unit_and_a_leaf_flat(client, login_as, province_story):
    login_as("jinan-zj-admin")
    document = Document(io.BytesIO(client.get("/reports/jinan-zj.docx").get_data()))
    body = [p.text for p in document.paragraphs]
    annex = body[body.index("附件1"):]
    assert annex.index("本级（1项）") < annex.index(f"{LIXIA}（1项）")
    assert any("所辖单位活动情况" in line for line in body)
    assert any(line.startswith(f"1.{LIXIA}。已采纳活动1项") for line in body)
    tables = document.tables
    own, county = tables[-2], tables[-1]
    assert own.rows[1].cells[1].text == "全市住宅工程巡查"
    assert county.rows[1].cells[0].text == "2" and county.rows[1].cells[1].text == "历下区工地巡查"
    login_as("jinan-lixia-zj-admin")
    body = [p.text for p in Document(io.BytesIO(client.get("/reports/jinan-lixia-zj.docx").get_data())).paragraphs]
    assert not any(re.fullmatch(r".*（\d+项）", line) for line in body)


def test_the_root_word_file_has_the_upward_head_and_the_annex(client, login_as, province_story):
    login_as("province")
    _fill(client, doc_number="鲁建质安函〔2024〕12号", signer="张三")
    lines = _docx_lines(client.get(f"/reports/{ROOT}.docx"))
    assert "山东省住房和城乡建设厅文件" in lines
    assert "鲁建质安函〔2024〕12号\t签发人：张三" in lines
    assert "住房和城乡建设部办公厅：" in lines
    assert sum(1 for line in lines if re.match(r"\d+ \| .+ \| (按时|逾期|未报送)", line)) == 44


def test_a_draft_without_doc_number_or_signer_prints_blanks_not_none(client, login_as, province_story):
    """Before the root's admin fills them in, the head prints empty places, never the word None."""
    login_as("province")
    assert report_of(ROOT) is None or not report_of(ROOT).doc_number
    text = squash(pdf_text(client.get(f"/reports/{ROOT}.pdf").get_data()))
    assert "山东省住房和城乡建设厅文件" in text and "签发人：" in text and "None" not in text
    preview = client.get(f"/reports/{ROOT}/preview").get_data(as_text=True)
    assert "None" not in preview
    word = Document(io.BytesIO(client.get(f"/reports/{ROOT}.docx").get_data()))
    head = [p.text for p in word.paragraphs[:4]]
    assert any(line.startswith("\t签发人：") for line in head) and not any("None" in line for line in head), head
