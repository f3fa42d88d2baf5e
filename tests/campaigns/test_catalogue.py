"""The catalogue must match the notice line by line."""
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from qmonth.campaigns.loader import CampaignFileError, load_campaign_file, parse_campaign_text
from qmonth.extensions import db
from qmonth.models import ActivityKind, Campaign, Department, Slogan, Task, TaskGroup, Unit
from qmonth.timeutil import LOCAL_TZ

from tests.conftest import CAMPAIGN_FILE

# The notice the product serves, as shared with the project; the repository keeps a
# copy so the catalogue tests run wherever the repository is cloned.
SHARED_NOTICE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "notice-2024-quality-month.txt"
NOTICE_COPY = Path(__file__).resolve().parent.parent / "data" / "notice-2024-quality-month.txt"

CITIES = "济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽".split()
WATER_CITIES = set("济南 青岛 淄博 枣庄 东营 济宁 威海 滨州 菏泽".split())
GARDEN_CITIES = {"济南", "青岛"}


def notice_text() -> str:
    return NOTICE_COPY.read_text(encoding="utf-8")


def test_the_repositorys_copy_of_the_notice_is_the_shared_one():
    if SHARED_NOTICE.exists():
        assert NOTICE_COPY.read_bytes() == SHARED_NOTICE.read_bytes()
    assert "提升建筑品质 共享美好生活" in notice_text()


def campaign() -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.slug == "2024-shandong"))


def test_campaign_header_matches_notice(app):
    c = campaign()
    assert c.title == "2024年全省住建系统“质量月”活动"
    assert c.theme == "提升建筑品质 共享美好生活"
    assert (c.starts_on, c.ends_on) == (date(2024, 9, 1), date(2024, 9, 30))
    assert c.issuer == "山东省住房和城乡建设厅"
    assert c.issued_on == date(2024, 8, 29)
    assert c.contact_people == ["徐晨光", "王晓宏"]
    assert c.contact_phone == "0531-51765160"
    assert c.contact_email == "xuchenguang@shandong.cn"
    assert c.is_active


def test_report_due_is_end_of_10_october_in_shanghai(app):
    due = campaign().report_due_at.astimezone(LOCAL_TZ)
    assert due.replace(tzinfo=None) == datetime(2024, 10, 10, 23, 59, 59)
    assert campaign().report_due_at.utcoffset().total_seconds() == 0  # stored as UTC


def test_three_groups_and_nine_tasks_with_the_notices_wording(app):
    text = notice_text()
    groups = db.session.scalars(select(TaskGroup).order_by(TaskGroup.number)).all()
    assert [g.title for g in groups] == ["牢固树立质量意识", "持续促进质量提升", "筑牢质量保障根基"]
    for group in groups:
        assert f"({'一二三'[group.number - 1]}){group.title}" in text
    tasks = db.session.scalars(select(Task).order_by(Task.number)).all()
    assert [t.title for t in tasks] == [
        "深入开展主题宣传", "加大培训宣贯力度", "培优树先擦亮品牌",
        "以赛促学提升技能", "开展现场技术交流", "广泛开展群众活动",
        "强化监督机构评价", "强化检测、监理行业管理", "加大督导帮扶力度",
    ]
    assert [t.group.number for t in tasks] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for task in tasks:
        # Full wording, verbatim: "N.title。text" is a whole line of the notice.
        assert f"{task.number}.{task.title}。{task.text}" in text.splitlines()


def test_twelve_slogans_verbatim(app):
    text = notice_text()
    annex = text[text.index("活动宣传标语\n"):]
    expected = re.findall(r"^(\d+)\.(.+)$", annex, flags=re.M)
    slogans = db.session.scalars(select(Slogan).order_by(Slogan.number)).all()
    assert len(slogans) == 12
    assert [(str(s.number), s.text) for s in slogans] == expected


def test_44_units_with_exactly_the_departments_per_city(app):
    """The notice's addressees: the children of the issuer's unit, the root of the tree."""
    root = db.session.scalar(select(Unit).where(Unit.code == "shandong-zjt"))
    assert root.name == "山东省住房和城乡建设厅" and root.parent_id is None
    units = db.session.scalars(select(Unit).where(Unit.parent_id == root.id)).all()
    assert len(units) == 44
    by_city: dict[str, set[Department]] = {}
    for unit in units:
        by_city.setdefault(unit.city, set()).add(unit.department)
        assert unit.code.endswith("-" + unit.department.value)
        assert unit.name.startswith(unit.city + "市")
    assert set(by_city) == set(CITIES)
    for city in CITIES:
        expected = {Department.ZJ, Department.CG}
        if city in WATER_CITIES:
            expected.add(Department.SW)
        if city in GARDEN_CITIES:
            expected.add(Department.YL)
        if city == "济南":
            expected.add(Department.JT)
        assert by_city[city] == expected, city
    codes = {u.code for u in units}
    assert {"jinan-zj", "qingdao-yl", "heze-sw", "jinan-jt", "jining-sw", "taian-cg"} <= codes
    assert "yantai-sw" not in codes


def test_every_kind_has_its_figures(app):
    kinds = {k.code: k for k in db.session.scalars(select(ActivityKind))}
    assert len(kinds) == 9
    assert kinds["publicity"].name == "主题宣传"
    channels = next(f for f in kinds["publicity"].figures if f["code"] == "channels")
    assert channels["choices"] == ["办公场所", "施工现场", "官方网站", "公众号", "传统媒体", "新媒体"]
    assert {f["code"] for f in kinds["inspection"].figures} == {
        "projects_inspected", "problems_found", "problems_rectified", "experts"}
    assert sorted(k.default_task_number for k in kinds.values()) == list(range(1, 10))


def test_loading_the_same_file_twice_changes_nothing(app):
    before = _snapshot()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["campaign", "load", str(CAMPAIGN_FILE)])
    assert result.exit_code == 0
    assert "unchanged" in result.output
    assert _snapshot() == before


def test_an_edited_file_updates_in_place(app, tmp_path):
    before_ids = _snapshot()
    edited = CAMPAIGN_FILE.read_text(encoding="utf-8")
    edited = edited.replace('theme = "提升建筑品质 共享美好生活"', 'theme = "新主题"')
    edited = edited.replace('title = "加大培训宣贯力度"', 'title = "加大培训宣贯力度（修订）"')
    path = tmp_path / "edited.toml"
    path.write_text(edited, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["campaign", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "updated" in result.output
    db.session.expire_all()
    assert campaign().theme == "新主题"
    assert db.session.scalar(select(Task.title).where(Task.number == 2)) == "加大培训宣贯力度（修订）"
    after_ids = _snapshot()
    assert after_ids["ids"] == before_ids["ids"]  # same rows, changed in place


def _snapshot():
    return {
        "ids": [
            db.session.scalars(select(model.id).order_by(model.id)).all()
            for model in (Campaign, TaskGroup, Task, ActivityKind, Slogan, Unit)
        ],
        "campaign": [(c.theme, c.title, c.report_due_at) for c in db.session.scalars(select(Campaign))],
        "tasks": db.session.scalars(select(Task.title).order_by(Task.id)).all(),
    }


def _broken_copy(tmp_path, old: str, new: str) -> Path:
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_a_syntax_error_names_the_line_and_loads_nothing(app, tmp_path):
    path = _broken_copy(tmp_path, 'theme = "提升建筑品质 共享美好生活"', 'theme = "提升建筑品质')
    result = app.test_cli_runner().invoke(args=["campaign", "load", str(path)])
    assert result.exit_code != 0
    assert f"第 {_line_of(path, 'theme = ')} 行" in result.output


def test_a_bad_unit_near_the_end_names_the_line_and_nothing_is_half_loaded(app, tmp_path):
    text = CAMPAIGN_FILE.read_text(encoding="utf-8").replace('theme = "提升建筑品质 共享美好生活"', 'theme = "改过的主题"')
    text = text.replace('dept = "jt"', 'dept = "xx"')
    path = tmp_path / "bad-unit.toml"
    path.write_text(text, encoding="utf-8")
    before = _snapshot()
    with pytest.raises(CampaignFileError) as error:
        load_campaign_file(path)
    bad_line = _line_of(path, 'dept = "xx"')
    assert f"第 {bad_line} 行" in str(error.value)
    assert "部门" in str(error.value)
    assert _snapshot() == before


def test_a_task_pointing_at_a_missing_group_is_refused(tmp_path):
    text = CAMPAIGN_FILE.read_text(encoding="utf-8").replace("number = 9\ngroup = 3", "number = 9\ngroup = 7")
    with pytest.raises(CampaignFileError, match="分组 7 不存在"):
        parse_campaign_text(text)


def test_a_naive_due_time_is_refused(tmp_path):
    text = CAMPAIGN_FILE.read_text(encoding="utf-8").replace(
        "report_due_at = 2024-10-10T23:59:59+08:00", "report_due_at = 2024-10-10T23:59:59")
    with pytest.raises(CampaignFileError, match="带时区"):
        parse_campaign_text(text)


def test_campaign_page_shows_the_catalogue(client, login_as):
    login_as("jinan-zj")
    html = client.get("/campaign").get_data(as_text=True)
    assert "（三）筑牢质量保障根基" in html
    assert "8.强化检测、监理行业管理。" in html
    assert "报送单位（44 个）" in html
    assert "以匠心筑精品 共享美好生活" in html
