"""The demo's county level: 济南 has set its counties a due date before its own (from the county
example file), and their summary reports stand against it as fits the demo clock."""
import re
from datetime import datetime

from sqlalchemy import select

from qmonth.deadlines import scheduled_due_at
from qmonth.demo.counties import read_counties
from qmonth.extensions import db
from qmonth.models import AuditEvent, Campaign, Unit, UnitDueDate, UnitReport
from qmonth.timeutil import format_local

from tests.board.test_board_levels import JINAN_COUNTIES
from tests.demo.test_demo_clock import demo_at, login  # noqa: F401 (demo_at: the fixture)
from tests.helpers import campaign, unit

STATUS = re.compile(r'<tr id="unit-([a-z0-9-]+)".*?class="badge report-([a-z_]+)"', re.S)


def statuses(page: str) -> dict[str, str]:
    return dict(STATUS.findall(page))


def test_jinan_has_set_its_counties_a_due_date_before_its_own(client, login_as):
    rows = list(db.session.scalars(select(UnitDueDate).join(Unit, Unit.id == UnitDueDate.unit_id)
                                   .where(Unit.code.in_(JINAN_COUNTIES))))
    assert len(rows) == 12
    assert {format_local(row.due_at) for row in rows} == {"2024-10-08 18:00"}
    assert all(row.set_by.username == "jinan-zj-admin" and row.set_at < datetime.fromisoformat(
        "2024-09-20T10:00:00+08:00") for row in rows)
    assert scheduled_due_at(unit("jinan-zj"), campaign()) == campaign().report_due_at  # 济南's own: 10-10
    assert scheduled_due_at(unit("jinan-lixia-zj"), campaign()) < campaign().report_due_at
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.due_date")).all()
    assert len([event for event in audit if event.unit_id in {row.unit_id for row in rows}]) >= 12
    login_as("jinan-zj-admin")
    page = client.get("/board/").get_data(as_text=True)
    assert page.count("10-08 18:00 截止") == 12
    assert 'value="2024-10-08"' in page and 'value="18:00"' in page  # the form shows the date set
    assert set(statuses(page).values()) == {"not_started"}  # at 9月20日 no county has started its report


def test_the_county_reports_stand_as_fits_the_clock(demo_at):
    app, result = demo_at("2024-10-11T10:00:00+08:00")
    assert "county reports: 10 created" in result.output
    page = login(app, "jinan-zj-admin").get("/board/").get_data(as_text=True)
    shown = statuses(page)
    plan = {spec["code"]: spec.get("report", "none") for spec in read_counties()["units"]}
    expected = {"on_time": "on_time", "late": "late", "missing": "missing", "none": "missing"}
    assert shown == {code: expected[outcome] for code, outcome in plan.items()}
    assert {"on_time", "late", "missing"} <= set(shown.values())
    # The late ones were reopened by 济南 (the city's admin), as the board's 补报 does.
    huaiyin = page[page.index('<tr id="unit-jinan-huaiyin-zj"'):]
    assert "补报至 10-10 18:00" in huaiyin[:huaiyin.index("</tr>")]
    reports = db.session.scalars(select(UnitReport).join(Unit, Unit.id == UnitReport.unit_id)
                                 .where(Unit.code.in_(JINAN_COUNTIES))).all()
    assert all(report.submitted_at is None or report.submitted_at <= datetime.fromisoformat(
        "2024-10-11T10:00:00+08:00") for report in reports)
    # Seeding again adds nothing.
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "county reports: 0 created" in again.output and "county due dates set by jinan-zj: 0" in again.output


def test_before_the_campaigns_end_the_counties_have_not_started(demo_at):
    app, result = demo_at("2024-09-25T10:00:00+08:00")
    assert "county reports: 0 created" in result.output
    active = db.session.scalar(select(Campaign).where(Campaign.is_active))
    assert db.session.scalar(select(UnitReport).join(Unit, Unit.id == UnitReport.unit_id)
                             .where(Unit.code.in_(JINAN_COUNTIES), UnitReport.campaign_id == active.id)) is None
