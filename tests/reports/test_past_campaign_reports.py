"""A past campaign's 总结报告 that was never submitted (so has no snapshot) is still that year's:
printed with `report unit CODE --year 2024` after 2025 took over and units were renamed and moved,
it names its unit, its addressee (the parent of 2024) and the units below as 2024's tree had them,
and counts the subtree of 2024."""
from datetime import date

from docx import Document
from sqlalchemy import delete, select, update

from qmonth.extensions import db
from qmonth.campaigns.services import active_campaign
from qmonth.models import ActivityState, Campaign, Unit, UnitReport
from qmonth.reports.data import build_province

from tests.campaigns.test_campaign_context import start_2025
from tests.campaigns.test_campaign_tree import LICHENG_2024, LICHENG_2025, _rename_and_move
from tests.helpers import build_activity, clear_activities, token
from tests.reports.support import pdf_text, squash


def _2024_then_2025(client, login_as) -> None:
    """2024: 济南's own entry, 历城区's and 章丘区's accepted; no report submitted. Then 2025 is
    active, 历城区's bureau renamed and 章丘区's moved under 青岛."""
    clear_activities()
    db.session.execute(delete(UnitReport))
    db.session.commit()
    build_activity("jinan-zj", "济南市质量宣传", state=ActivityState.SUBMITTED)
    build_activity("jinan-licheng-zj", "历城区质量讲堂", state=ActivityState.ACCEPTED)
    build_activity("jinan-zhangqiu-zj", "章丘区工地观摩", state=ActivityState.ACCEPTED)
    start_2025(client, login_as)
    _rename_and_move(client, login_as)


def _print(app, tmp_path, code: str, name: str = "r.pdf") -> str:
    result = app.test_cli_runner().invoke(args=["report", "unit", code, "--year", "2024", "-o", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    if name.endswith(".docx"):
        return "\n".join(p.text for p in Document(str(tmp_path / name)).paragraphs)
    return squash(pdf_text((tmp_path / name).read_bytes()))


def test_a_renamed_countys_2024_report_keeps_its_2024_name(app, client, login_as, tmp_path):
    _2024_then_2025(client, login_as)
    for name in ("r.pdf", "r.docx"):
        text = _print(app, tmp_path, "jinan-licheng-zj", name)
        assert f"{LICHENG_2024}2024年住建系统“质量月”活动总结报告" in text
        assert LICHENG_2025 not in text


def test_a_moved_countys_2024_report_goes_to_its_2024_city(app, client, login_as, tmp_path):
    _2024_then_2025(client, login_as)
    for name in ("r.pdf", "r.docx"):
        text = _print(app, tmp_path, "jinan-zhangqiu-zj", name)
        assert "济南市住房和城乡建设局：" in text and "青岛市住房和城乡建设局" not in text
        assert "按照济南市住房和城乡建设局《关于开展" in text


def test_the_citys_2024_report_covers_its_2024_subtree_by_2024_names(app, client, login_as, tmp_path):
    _2024_then_2025(client, login_as)
    jinan = _print(app, tmp_path, "jinan-zj")
    assert "章丘区工地观摩" in jinan and "章丘区住房城乡建设局" in jinan
    assert LICHENG_2024 in jinan and LICHENG_2025 not in jinan
    assert "共组织开展各类活动3项" in jinan
    qingdao = _print(app, tmp_path, "qingdao-zj")
    assert "章丘区" not in qingdao and "共组织开展各类活动0项" in qingdao


JINAN_2025 = "济南市住房和城乡建设局（2025年更名）"


def test_the_2024_roll_up_names_the_addressed_units_and_highlights_as_2024_did(app, client, login_as, tmp_path):
    clear_activities()
    db.session.execute(delete(UnitReport))
    db.session.commit()
    build_activity("jinan-zj", "济南市质量开放日", state=ActivityState.ACCEPTED, is_highlight=True)
    start_2025(client, login_as)
    response = client.post("/admin/units/jinan-zj/rename", data={
        "csrf_token": token(client, "/admin/units"), "name": JINAN_2025})
    assert response.status_code == 302

    result = app.test_cli_runner().invoke(args=["report", "province", "--year", "2024", "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 0, result.output
    text = squash(pdf_text((tmp_path / "p.pdf").read_bytes()))
    assert "济南市质量开放日" in text and "济南市住房和城乡建设局" in text
    assert JINAN_2025 not in text
    # The root's own 2024 report carries the same roll-up as its annex.
    root_report = _print(app, tmp_path, "shandong-zjt")
    assert "济南市住房和城乡建设局" in root_report and JINAN_2025 not in root_report


def test_the_roll_ups_highlights_follow_its_rows_with_each_county_under_its_city(app, client, login_as):
    """The 全省汇总's 典型经验 in the order of its rows: 商河县's under 济南 (its own position, 12th of
    济南's counties, ranked it among the cities, after 青岛's 6th), and a past campaign's in that
    year's order."""
    clear_activities()
    for code, title, day in (("zibo-zj", "淄博市亮点", 2), ("jinan-shanghe-zj", "商河县亮点", 9),
                             ("jinan-zj", "济南市亮点", 5), ("qingdao-zj", "青岛市亮点", 1)):
        build_activity(code, title, state=ActivityState.ACCEPTED, is_highlight=True, starts_on=date(2024, 9, day))
    expected = ["济南市亮点", "商河县亮点", "青岛市亮点", "淄博市亮点"]
    assert [a.title for a in build_province(active_campaign()).highlights] == expected

    start_2025(client, login_as)
    db.session.execute(update(Unit).where(Unit.code == "zibo-zj").values(position=0))  # 2025's file ranks it first
    db.session.commit()
    campaign_2024 = db.session.scalar(select(Campaign).where(Campaign.slug == "2024-shandong"))
    assert [a.title for a in build_province(campaign_2024).highlights] == expected
