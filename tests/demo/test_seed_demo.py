"""seed-demo's demo activities: realistic, complete, consistent, repeatable and fast."""
import re
import time
from collections import defaultdict
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, func, select

from qmonth.demo.content import load_content
from qmonth.demo.seed import FORM_KEY_PREFIX
from qmonth.extensions import db
from qmonth.models import (
    FIGURE_TEXT_MAX, Activity, ActivityKind, ActivityState, AuditEvent, Campaign, Task, User, activity_task,
)
from qmonth.timeutil import to_local
from tests.conftest import DEMO_CLOCK

DEFAULT_COUNT = 200
CAMPAIGN_ANNOUNCED = datetime(2024, 8, 28, tzinfo=timezone.utc)
NOW = datetime.fromisoformat(DEMO_CLOCK)  # the tests' clock: inside the campaign
CITIES = load_content().cities
PHONE = re.compile(r"^(0\d{2,3}-\d{7,8}|1[3-9]\d{9})$")


def demo_activities() -> list[Activity]:
    return list(db.session.scalars(
        select(Activity).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%")).order_by(Activity.id)))


def remove_demo_activities() -> None:
    ids = select(Activity.id).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%"))
    db.session.execute(delete(AuditEvent).where(AuditEvent.object_type == "activity",
                                                AuditEvent.object_id.in_(ids)))
    db.session.execute(delete(activity_task).where(activity_task.c.activity_id.in_(ids)))
    db.session.execute(delete(Activity).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%")))
    db.session.commit()


def seed_demo(app, *args: str):
    result = app.test_cli_runner().invoke(args=["seed-demo", *args])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


@pytest.fixture
def demo(app) -> list[Activity]:
    """The default demo set, whether or not the template database already holds it."""
    seed_demo(app)
    activities = demo_activities()
    assert len(activities) == DEFAULT_COUNT
    return activities


def test_demo_covers_every_kind_task_state_and_unit(demo):
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    assert {a.kind.code for a in demo} == {k.code for k in campaign.kinds}
    assert {t.number for a in demo for t in a.tasks} == {t.number for t in campaign.tasks}
    assert {a.state for a in demo} == set(ActivityState)
    assert len({a.unit_id for a in demo}) == 44


def test_each_entry_serves_its_kinds_task_first(demo):
    for activity in demo:
        numbers = [t.number for t in activity.tasks]
        assert activity.kind.default_task_number in numbers
        assert 1 <= len(numbers) <= 2


def test_review_outcomes_are_consistent(demo):
    province = db.session.scalar(select(User).where(User.username == "province"))
    for activity in demo:
        if activity.state is ActivityState.RETURNED:
            assert activity.return_reason.endswith("。") and len(activity.return_reason) >= 10
        else:
            assert activity.return_reason == ""
        if activity.is_highlight:
            assert activity.state is ActivityState.ACCEPTED
        reviewed = activity.state in (ActivityState.ACCEPTED, ActivityState.RETURNED)
        assert (activity.reviewed_at is not None) is reviewed
        assert activity.reviewed_by_id == (province.id if reviewed else None)
        assert (activity.submitted_at is not None) is (activity.state is not ActivityState.DRAFT)
        assert activity.no_fee_declared is (activity.state is not ActivityState.DRAFT)
    assert any(a.is_highlight for a in demo)


def test_dates_are_inside_the_window_and_times_in_order(demo):
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    for activity in demo:
        assert campaign.starts_on <= activity.starts_on <= activity.ends_on <= campaign.ends_on
        moments = [activity.created_at, activity.submitted_at, activity.reviewed_at, activity.updated_at]
        moments = [m for m in moments if m is not None]
        assert moments == sorted(moments), activity.form_key
        for moment in moments:
            assert moment.tzinfo is not None and CAMPAIGN_ANNOUNCED <= moment <= NOW
        if activity.submitted_at:  # reported once it was held
            assert to_local(activity.submitted_at).date() > activity.ends_on


def test_figures_match_their_kinds_definitions(demo):
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    slogan_numbers = {s.number for s in campaign.slogans}
    for activity in demo:
        definitions = {d["code"]: d for d in activity.kind.figures}
        assert set(activity.figures) == set(definitions), activity.form_key
        for code, value in activity.figures.items():
            definition = definitions[code]
            match definition["type"]:
                case "int":
                    assert type(value) is int and value >= 0
                case "text":
                    assert isinstance(value, str) and 0 < len(value) <= FIGURE_TEXT_MAX
                case "choice":
                    assert value in definition["choices"]
                case "multi":
                    assert value and value == [c for c in definition["choices"] if c in value]
                case "slogans":
                    assert value and value == sorted(set(value)) and set(value) <= slogan_numbers
                case other:
                    pytest.fail(f"unknown figure type {other}")


def test_figures_agree_with_each_other_and_with_participants(demo):
    for activity in demo:
        figures = activity.figures
        assert activity.participants and activity.participants > 0
        for code in ("trainees", "attendees"):
            if code in figures:
                assert figures[code] == activity.participants
        if "problems_rectified" in figures:
            assert figures["problems_rectified"] <= figures["problems_found"]
        if "awards" in figures:
            assert figures["awards"] <= figures["contestants"] < activity.participants


def test_entries_read_like_the_bureaus_own(demo):
    for activity in demo:
        unit = activity.unit
        assert activity.title.startswith(f"{unit.city}市")
        assert activity.organiser == unit.name and unit.name in activity.description
        assert activity.county in CITIES[unit.city].counties
        assert activity.address and activity.contact_name
        assert PHONE.match(activity.contact_phone), activity.contact_phone
        assert activity.description.count("。") >= 2
        assert activity.results or activity.state is ActivityState.DRAFT
        assert activity.author.username == unit.code  # the bureau's reporter
    water = [a for a in demo if a.unit.code.endswith("-sw")]
    assert water and all("建筑业" not in a.title for a in water)


def test_audit_trail_follows_each_entrys_state(demo):
    province = db.session.scalar(select(User).where(User.username == "province"))
    events = defaultdict(list)
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "activity")
                                    .order_by(AuditEvent.at, AuditEvent.id)):
        events[event.object_id].append(event)
    for activity in demo:
        trail = events[activity.id]
        actions = [e.action for e in trail]
        assert actions[0] == "activity.create" and trail[0].at == activity.created_at
        assert all(e.unit_id == activity.unit_id for e in trail)
        for event in trail:
            by_province = event.action in ("activity.accept", "activity.return", "activity.highlight")
            assert event.actor_id == (province.id if by_province else activity.author_id)
        states = [e.to_state for e in trail if e.action != "activity.highlight"]
        assert states[-1] == activity.state.value
        assert [e.from_state for e in trail[1:]] == [e.to_state for e in trail[:-1]]
        assert ("activity.highlight" in actions) is activity.is_highlight
        if activity.submitted_at:
            assert [e for e in trail if e.action.endswith("submit")][-1].at == activity.submitted_at
        if activity.reviewed_at:
            last_review = [e for e in trail if e.action in ("activity.accept", "activity.return")][-1]
            assert last_review.at == activity.reviewed_at
            assert last_review.reason == activity.return_reason
        assert trail[-1].at == activity.updated_at


def test_running_seed_demo_again_adds_nothing(demo, app):
    result = seed_demo(app)
    assert f"demo activities: 0 created, {DEFAULT_COUNT} already there" in result.output
    assert len(demo_activities()) == DEFAULT_COUNT
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    seed_demo(app, "--activities", str(DEFAULT_COUNT))
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_the_same_count_gives_the_same_data(demo, app):
    def snapshot():
        return [(a.form_key, a.unit.code, a.kind.code, a.title, a.figures, a.state, a.created_at,
                 [t.number for t in a.tasks]) for a in demo_activities()]

    before = snapshot()
    remove_demo_activities()
    result = seed_demo(app)
    assert f"demo activities: {DEFAULT_COUNT} created" in result.output
    assert snapshot() == before


def test_a_larger_count_adds_only_the_missing_entries(demo, app):
    first = {a.form_key: a.title for a in demo}
    result = seed_demo(app, "--activities", str(DEFAULT_COUNT + 30))
    assert f"demo activities: 30 created, {DEFAULT_COUNT} already there" in result.output
    after = demo_activities()
    assert len(after) == DEFAULT_COUNT + 30
    assert {a.form_key: a.title for a in after if a.form_key in first} == first


def test_zero_activities_creates_none(app):
    remove_demo_activities()
    result = seed_demo(app, "--activities", "0")
    assert "demo activities: none requested" in result.output
    assert demo_activities() == []


def test_thousands_of_entries_are_bulk_inserted(app):
    remove_demo_activities()
    started = time.perf_counter()
    result = seed_demo(app, "--activities", "2000")
    elapsed = time.perf_counter() - started
    print(f"\nseed-demo --activities 2000: {elapsed:.2f}s")  # 10,000 by hand: see the report
    assert "demo activities: 2000 created" in result.output
    assert db.session.scalar(select(func.count(Activity.id)).where(
        Activity.form_key.like(f"{FORM_KEY_PREFIX}%"))) == 2000
    kinds = db.session.scalar(select(func.count(func.distinct(Activity.kind_id))))
    assert kinds == db.session.scalar(select(func.count(ActivityKind.id)))
    tasks = db.session.scalar(select(func.count(func.distinct(activity_task.c.task_id))))
    assert tasks == db.session.scalar(select(func.count(Task.id)))
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "activity.create")) >= 2000
    assert date(2024, 9, 1) <= db.session.scalar(select(func.min(Activity.starts_on)))
