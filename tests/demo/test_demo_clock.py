"""The demo stands at the app's clock: nothing happens after "now", and states fit that moment."""
import re
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import delete, func, select

from qmonth.deadlines import ReportStatus, judge_report
from qmonth.extensions import db
from qmonth.models import (
    Activity, ActivityState, AuditEvent, Campaign, ReportState, Unit, UnitReopening, UnitReport, activity_task,
)
from qmonth.timeutil import to_local

from tests.conftest import DEMO_CLOCK, DEMO_PASSWORD, IsolatedClient, _make_app
from tests.helpers import csrf_token_from

INSIDE = DEMO_CLOCK                      # 2024-09-20 10:00, the tests' clock
BEFORE_DEADLINE = "2024-10-08T16:00:00+08:00"  # the window has closed, reports are due on 10-10
AFTER_DEADLINE = "2024-10-15T10:00:00+08:00"


def moment(clock: str) -> datetime:
    return datetime.fromisoformat(clock)


def remove_demo_data() -> None:
    ids = select(Activity.id).where(Activity.form_key.like("demo-%"))
    db.session.execute(delete(AuditEvent).where(AuditEvent.object_type == "activity", AuditEvent.object_id.in_(ids)))
    db.session.execute(delete(AuditEvent).where(AuditEvent.object_type.in_(("unitreport", "unitreopening"))))
    db.session.execute(delete(activity_task).where(activity_task.c.activity_id.in_(ids)))
    db.session.execute(delete(Activity).where(Activity.form_key.like("demo-%")))
    db.session.execute(delete(UnitReopening))
    db.session.execute(delete(UnitReport))
    db.session.commit()


@pytest.fixture
def demo_at(instance_dir, database_url):
    """The demo seeded afresh with the app's clock at a given moment; yields the app."""
    apps = []

    def seed(clock: str, *args: str):
        app = _make_app(instance_dir, database_url, DEMO_CLOCK=clock)
        app.test_client_class = IsolatedClient
        context = app.app_context()
        context.push()
        apps.append(context)
        remove_demo_data()
        result = app.test_cli_runner().invoke(args=["seed-demo", *args])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        return app, result

    yield seed
    for context in reversed(apps):
        db.session.remove()
        db.engine.dispose()
        context.pop()


def login(app, username: str):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def board_report_badges(client) -> Counter:
    """The 总结报告 column of the province's board, as the user reads it."""
    page = client.get("/board/").get_data(as_text=True)
    return Counter(re.findall(r'<a class="badge report-[a-z_]+" href="[^"]*">([^<]+)</a>', page))


def demo_activities() -> list[Activity]:
    return list(db.session.scalars(select(Activity).where(Activity.form_key.like("demo-%")).order_by(Activity.id)))


def assert_nothing_after(now: datetime) -> None:
    for activity in demo_activities():
        for at in (activity.created_at, activity.submitted_at, activity.reviewed_at, activity.updated_at):
            assert at is None or at <= now, (activity.form_key, at)
    assert db.session.scalar(select(func.max(AuditEvent.at))) <= now
    for report in db.session.scalars(select(UnitReport)):
        assert report.created_at <= now and (report.submitted_at is None or report.submitted_at <= now)
    for reopening in db.session.scalars(select(UnitReopening)):
        assert reopening.created_at <= now


def report_statuses(now: datetime) -> Counter:
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    reports = {r.unit_id: r for r in db.session.scalars(select(UnitReport))}
    reopenings = {r.unit_id: r for r in db.session.scalars(select(UnitReopening))}
    statuses = Counter()
    for unit in db.session.scalars(select(Unit).where(Unit.parent_id == campaign.root_unit_id)):  # the 44
        report, reopening = reports.get(unit.id), reopenings.get(unit.id)
        standing = judge_report(campaign, report_state=report.state if report else None,
                                submitted_at=report.submitted_at if report else None,
                                reopened_due_at=reopening.due_at if reopening else None,
                                submitted_while_reopened=reopening is not None, now=now)
        statuses[standing.status] += 1
    return statuses


def test_nothing_in_the_default_demo_is_after_the_clock(app, login_as):
    """The template database is seeded by the tests' clock (2024-09-20 10:00)."""
    now = moment(INSIDE)
    assert_nothing_after(now)
    assert db.session.scalar(select(func.count(UnitReport.id))) == 0  # reports come after the window
    page = login_as("province").get("/reviews/").get_data(as_text=True)
    shown = re.findall(r'data-label="报送时间">([^<]+)</td>', page)
    assert shown and all(time <= "2024-09-20 10:00" for time in shown), shown
    assert "2024-10-" not in page


def test_inside_the_campaign_entries_not_yet_held_are_planned_drafts(app):
    today = moment(INSIDE).date()
    activities = demo_activities()
    ahead = [a for a in activities if a.starts_on > today]
    going_on = [a for a in activities if a.starts_on <= today <= a.ends_on]
    assert ahead and going_on
    for activity in ahead + going_on:
        assert activity.state is ActivityState.DRAFT and activity.results == ""
        assert activity.submitted_at is None and not activity.no_fee_declared
    assert all("拟于" in a.description for a in ahead)
    assert all("正在进行中" in a.description for a in going_on)
    for activity in activities:
        if activity.submitted_at:  # reported once it was held, never before
            assert to_local(activity.submitted_at).date() > activity.ends_on
    states = Counter(a.state for a in activities)
    assert set(states) == set(ActivityState)  # every state is there to show, even mid-campaign


def test_no_address_repeats_its_county(app):
    for activity in demo_activities():
        assert activity.county and not activity.address.startswith(activity.county), activity.address


def test_before_the_deadline_reports_are_drafts_or_on_time(demo_at):
    app, result = demo_at(BEFORE_DEADLINE)
    now = moment(BEFORE_DEADLINE)
    assert "demo as of 2024-10-08 16:00" in result.output
    assert_nothing_after(now)
    statuses = report_statuses(now)
    assert statuses[ReportStatus.ON_TIME] > 0 and statuses[ReportStatus.DRAFT] > 0
    assert statuses[ReportStatus.LATE] == statuses[ReportStatus.MISSING] == 0
    assert db.session.scalar(select(func.count(UnitReopening.id))) == 0
    badges = board_report_badges(login(app, "province"))
    assert badges["按时报送"] == statuses[ReportStatus.ON_TIME] and badges["草稿"] > 0
    assert not any(label.startswith(("逾期", "未报送")) for label in badges), badges


def test_after_the_deadline_some_reports_are_late_and_some_missing(demo_at):
    app, _ = demo_at(AFTER_DEADLINE)
    now = moment(AFTER_DEADLINE)
    assert_nothing_after(now)
    statuses = report_statuses(now)
    assert statuses[ReportStatus.ON_TIME] > 22  # most bureaus hand in on time
    assert statuses[ReportStatus.LATE] > 0 and statuses[ReportStatus.MISSING] > 0
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    for report in db.session.scalars(select(UnitReport).where(UnitReport.state == ReportState.SUBMITTED)):
        assert report.overview.startswith("按照") and report.unit.name in report.overview
        if report.submitted_at > campaign.report_due_at:  # late only under a reopening (补报)
            reopening = db.session.scalar(select(UnitReopening).where(UnitReopening.unit_id == report.unit_id))
            assert reopening.created_at < report.submitted_at <= reopening.due_at
    states = Counter(a.state for a in demo_activities())
    assert states[ActivityState.ACCEPTED] > len(demo_activities()) / 2  # weeks into the reviews
    badges = board_report_badges(login(app, "province"))
    assert badges["逾期报送（补报）"] == statuses[ReportStatus.LATE]
    assert badges["未报送"] == statuses[ReportStatus.MISSING]


def test_the_same_clock_gives_the_same_demo_and_a_second_run_adds_nothing(demo_at):
    def snapshot():
        activities = [(a.form_key, a.title, a.description, a.state, a.created_at, a.submitted_at, a.reviewed_at)
                      for a in demo_activities()]
        reports = sorted((r.unit.code, r.state, r.submitted_at) for r in db.session.scalars(select(UnitReport)))
        return activities, reports, db.session.scalar(select(func.count(AuditEvent.id)))

    app, _ = demo_at(AFTER_DEADLINE)
    first = snapshot()
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "demo activities: 0 created, 200 already there" in again.output
    assert "demo reports: 0 created" in again.output
    db.session.expire_all()
    assert snapshot() == first
    demo_at(AFTER_DEADLINE)
    assert snapshot()[:2] == first[:2]


def test_the_clock_moves_the_demo_not_its_content(demo_at):
    """The same entry, seen at two moments: same title and dates, a state further along later."""
    demo_at(INSIDE)
    early = {a.form_key: (a.title, a.starts_on, a.state) for a in demo_activities()}
    demo_at(AFTER_DEADLINE)
    late = {a.form_key: (a.title, a.starts_on, a.state) for a in demo_activities()}
    assert {k: v[:2] for k, v in early.items()} == {k: v[:2] for k, v in late.items()}
    assert sum(early[k][2] != late[k][2] for k in early) > 50
    # States only move on: an entry submitted by 09-20 is never a draft again later.
    assert all(early[k][2] is ActivityState.DRAFT or late[k][2] is not ActivityState.DRAFT for k in early)
