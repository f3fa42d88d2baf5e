"""The demo's third level: a city's county bureaus (qmonth/demo/counties-jinan.toml), their units and
their entries, which the city bureau reviews. Units are added once (found by code afterwards);
entries carry form_key "county-demo-<code>-<n>" (apart from the 44 units' "demo-<n>"), so seeding again adds nothing."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Activity, ActivityKind, ActivityState, AuditEvent, Campaign, ReportState, Unit, UnitDueDate, UnitReopening,
    UnitReport, User,
)
from ..timeutil import LOCAL_TZ, format_local
from ..units import add_child
from .content import DemoDataError

COUNTIES_FILE = Path(__file__).with_name("counties-jinan.toml")
FORM_KEY_PREFIX = "county-demo-"
STATES = {"accepted": ActivityState.ACCEPTED, "submitted": ActivityState.SUBMITTED,
          "returned": ActivityState.RETURNED}


@dataclass
class CountyResult:
    units: int
    activities: int


def read_counties(path: Path = COUNTIES_FILE) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DemoDataError(f"county example {path}: {error}") from None
    if not data.get("units") or not data.get("parent"):
        raise DemoDataError(f"county example {path}: needs `parent` and [[units]]")
    return data


def seed_county_units(data: dict, *, at: datetime | None = None) -> int:
    """The county bureaus below their city bureau; those already there are kept as they are."""
    parent = db.session.scalar(select(Unit).where(Unit.code == data["parent"]))
    if parent is None:
        raise DemoDataError(f"county example: no unit {data['parent']} (load the campaign first)")
    created = 0
    for spec in data["units"]:
        if db.session.scalar(select(Unit.id).where(Unit.code == spec["code"])) is None:
            add_child(parent, code=spec["code"], name=f"{spec['county']}住房城乡建设局", city=data.get("city"), by=None,
                      at=at)
            created += 1
    db.session.flush()
    return created


def seed_county_activities(data: dict, campaign: Campaign, *, now: datetime) -> int:
    """Each county's entries, reviewed by the city bureau's admin; nothing dated after `now`."""
    reviewer = db.session.scalar(select(User).where(User.username == f"{data['parent']}-admin"))
    existing = set(db.session.scalars(select(Activity.form_key).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%"))))
    kinds = {kind.code: kind for kind in db.session.scalars(
        select(ActivityKind).where(ActivityKind.campaign_id == campaign.id))}
    tasks = {task.number: task for task in campaign.tasks}
    today = now.astimezone(LOCAL_TZ).date()
    month_days = (campaign.ends_on - campaign.starts_on).days + 1
    created = 0
    for index, spec in enumerate(data["units"]):
        unit = db.session.scalar(select(Unit).where(Unit.code == spec["code"]))
        author = db.session.scalar(select(User).where(User.username == spec["code"]))
        if unit is None or author is None or reviewer is None:
            continue
        for number, plan in enumerate(data.get("activities", []), start=1):
            key = f"{FORM_KEY_PREFIX}{spec['code']}-{number}"
            offset = (plan["day"] - 1 + index * data.get("stagger", 1)) % month_days
            held = campaign.starts_on + timedelta(days=offset)
            if key in existing or held > today or plan["kind"] not in kinds:
                continue
            _add_entry(key, plan, spec, unit, author, reviewer, campaign, kinds[plan["kind"]],
                       tasks.get(plan.get("task")), held, today, now)
            created += 1
    return created


def _at(day: date, hour: int, now: datetime) -> datetime:
    return min(datetime.combine(day, time(hour, 0), LOCAL_TZ), now)


def _add_entry(key, plan, spec, unit, author, reviewer, campaign, kind, task, held: date, today: date,
               now: datetime) -> None:
    """One entry with its history: registered on the day, submitted the next day, reviewed the day after."""
    text = {"county": spec["county"], "unit": unit.name}
    final = STATES.get(plan.get("state", ""), ActivityState.DRAFT)
    days = (today - held).days
    state = (ActivityState.DRAFT if days < 2 or final is ActivityState.DRAFT
             else ActivityState.SUBMITTED if days < 3 else final)
    created_at = _at(held, 17, now)
    submitted_at = _at(held + timedelta(days=1), 10, now) if state is not ActivityState.DRAFT else None
    reviewed_at = _at(held + timedelta(days=2), 15, now) if state in (ActivityState.ACCEPTED,
                                                                        ActivityState.RETURNED) else None
    activity = Activity(
        campaign=campaign, unit=unit, author=author, kind=kind, tasks=[task] if task else [], form_key=key,
        title=plan["title"].format(**text), organiser=unit.name, starts_on=held, ends_on=held,
        county=spec["county"], address=plan.get("address", ""), participants=plan.get("participants"),
        description=plan.get("description", "").format(**text),
        results="" if state is ActivityState.DRAFT and held >= today else plan.get("results", "").format(**text),
        contact_name=author.display_name[:40], contact_phone="0531-86000000", figures=dict(plan.get("figures", {})),
        no_fee_declared=state is not ActivityState.DRAFT, state=state,
        return_reason=plan.get("return_reason", "") if state is ActivityState.RETURNED else "",
        submitted_at=submitted_at, reviewed_at=reviewed_at, reviewed_by_id=reviewer.id if reviewed_at else None,
        created_at=created_at, updated_at=reviewed_at or submitted_at or created_at)
    db.session.add(activity)
    db.session.flush()
    events = [("activity.create", created_at, author, None, "draft", "")]
    if submitted_at:
        events.append(("activity.submit", submitted_at, author, "draft", "submitted", ""))
    if reviewed_at:
        action = "activity.accept" if state is ActivityState.ACCEPTED else "activity.return"
        events.append((action, reviewed_at, reviewer, "submitted", state.value, activity.return_reason))
    db.session.add_all(AuditEvent(at=at, actor_id=actor.id, unit_id=unit.id, action=action, object_type="activity",
                                  object_id=activity.id, from_state=before, to_state=after, reason=reason, changes={})
                       for action, at, actor, before, after, reason in events)


# The city's due date for its counties, and their summary reports against it -------------------

REPORT_OUTCOMES = ("on_time", "late", "missing", "none")


def county_due_at(data: dict, campaign: Campaign) -> tuple[datetime, datetime] | None:
    """The due time the city set for its counties and when it set it (the file's [due]), checked
    against the city's own (the campaign's): on or before it, set before it falls due."""
    due = data.get("due")
    if not due:
        return None
    due_at, set_at = due.get("at"), due.get("set_at")
    if not isinstance(due_at, datetime) or not isinstance(set_at, datetime) or due_at.tzinfo is None \
            or set_at.tzinfo is None:
        raise DemoDataError("county example: [due] needs `at` and `set_at`, dates with a time and an offset")
    if due_at > campaign.report_due_at or set_at >= due_at:
        raise DemoDataError("county example: [due] `at` must be on or before the campaign's report due time, "
                            "and `set_at` before it")
    return due_at.astimezone(timezone.utc), set_at.astimezone(timezone.utc)


def seed_county_due_date(data: dict, campaign: Campaign, *, now: datetime) -> int:
    """The city's admin sets its counties' due date at the file's moment; nothing while the clock is
    before it, and counties that already have one keep it."""
    due = county_due_at(data, campaign)
    setter = db.session.scalar(select(User).where(User.username == f"{data['parent']}-admin"))
    if due is None or setter is None or due[1] > now:
        return 0
    due_at, set_at = due
    have = set(db.session.scalars(select(UnitDueDate.unit_id).where(UnitDueDate.campaign_id == campaign.id)))
    created = 0
    for spec in data["units"]:
        unit = db.session.scalar(select(Unit).where(Unit.code == spec["code"]))
        if unit is None or unit.id in have:
            continue
        row = UnitDueDate(campaign_id=campaign.id, unit_id=unit.id, due_at=due_at, set_by_id=setter.id, set_at=set_at)
        db.session.add(row)
        db.session.flush()
        db.session.add(AuditEvent(at=set_at, actor_id=setter.id, unit_id=unit.id, action="unit.due_date",
                                  object_type="unit", object_id=unit.id, reason="",
                                  changes={"due_at": [None, format_local(due_at)], "set_by_unit": data["parent"]}))
        created += 1
    return created


def seed_county_reports(data: dict, campaign: Campaign, *, now: datetime) -> int:
    """Each county's summary report as it stands at `now`, against the due date its city set: its
    story (the file's `report`, `report_day` days from that due date) drawn whole, then cut at now."""
    due = county_due_at(data, campaign)
    city_admin = db.session.scalar(select(User).where(User.username == f"{data['parent']}-admin"))
    if due is None or city_admin is None or due[1] > now:
        return 0
    due_day = due[0].astimezone(LOCAL_TZ).date()
    done = set(db.session.scalars(select(UnitReport.unit_id).where(UnitReport.campaign_id == campaign.id)))
    created = 0
    for spec in data["units"]:
        outcome = spec.get("report", "none")
        if outcome not in REPORT_OUTCOMES:
            raise DemoDataError(f"county example: {spec['code']}: report is one of {', '.join(REPORT_OUTCOMES)}")
        unit = db.session.scalar(select(Unit).where(Unit.code == spec["code"]))
        admin = db.session.scalar(select(User).where(User.username == f"{spec['code']}-admin"))
        if outcome == "none" or unit is None or admin is None or unit.id in done:
            continue
        day = due_day + timedelta(days=spec.get("report_day", 0))
        started = _local(due_day - timedelta(days=11), 9, 30)
        if started > now:
            continue
        report = UnitReport(campaign_id=campaign.id, unit_id=unit.id, state=ReportState.DRAFT, revision=1,
                            created_at=started, updated_at=started,
                            **{column: text.format(unit=unit.name, county=spec["county"])
                               for column, text in data.get("report_text", {}).items()})
        db.session.add(report)
        db.session.flush()
        events = []
        reopened = _local(due_day + timedelta(days=1), 9, 30) if outcome == "late" else None
        if reopened is not None and reopened <= now:
            reason = data.get("reopen_reason", "系统故障，补报")
            reopening = UnitReopening(campaign_id=campaign.id, unit_id=unit.id, reason=reason,
                                      due_at=_local(due_day + timedelta(days=2), 18, 0),
                                      created_by_id=city_admin.id, created_at=reopened)
            db.session.add(reopening)
            db.session.flush()
            events.append(AuditEvent(at=reopened, actor_id=city_admin.id, action="unit.reopen", unit_id=unit.id,
                                     object_type="unitreopening", object_id=reopening.id, from_state="locked",
                                     to_state="open", reason=reason, changes={}))
        submitted = {"on_time": min(_local(day, 10, 20), due[0]), "late": _local(day, 15, 0)}.get(outcome)
        if submitted is not None and submitted <= now:
            report.state, report.submitted_at, report.submitted_by_id = ReportState.SUBMITTED, submitted, admin.id
            report.signed_on, report.updated_at, report.revision = day, submitted, 2
            events.append(AuditEvent(at=submitted, actor_id=admin.id, action="report.submit", object_type="unitreport",
                                     object_id=report.id, unit_id=unit.id, from_state=ReportState.DRAFT.value,
                                     to_state=ReportState.SUBMITTED.value, reason="",
                                     changes={"timeliness": "on_time" if submitted <= due[0] else "late"}))
        db.session.add_all(events)
        created += 1
    return created


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ).astimezone(timezone.utc)
