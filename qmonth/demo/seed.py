"""Demo accounts, activities and summary reports for the active campaign, as they stand at "now".

Every entry has a whole life drawn from the data file (held on workdays inside the
campaign window, registered, submitted, returned or accepted by the province), and
the demo keeps of it what has happened by `now`: nothing is dated after the app's
clock. An activity not yet held is at most a draft registered ahead from the plan;
summary reports are drafted from the campaign's last week on, and come in late
only after the deadline.

Each entry draws from its own `random.Random(f"{seed}:{n}")`, so the same clock gives
the same data and entry n of a larger run is entry n of a smaller one. Rows are
tagged with form_key "demo-<n>"; a later run skips the keys already there, so
seeding twice adds nothing. Rows, tasks and audit trail are written with bulk
inserts: ten thousand entries take seconds.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, insert, select

from ..extensions import db
from ..campaigns.services import active_campaign
from ..units import addressed_units, campaign_root
from ..models import (
    Activity, ActivityState, AuditEvent, Campaign, ReportState, Role, Unit, UnitReopening, UnitReport, User,
    activity_task,
)
from ..timeutil import LOCAL_TZ
from .content import DemoContent, DemoDataError, Scenario
from .timeline import Calendar, activity_trail
from .writing import (
    co_organisers_of, derived_texts, description_of, figures_of, participants_of, place_of, results_of, title_of,
)

FORM_KEY_PREFIX = "demo-"
__all__ = ["DemoDataError", "FORM_KEY_PREFIX", "SeedResult", "seed_demo_accounts", "seed_demo_activities",
           "seed_demo_reports"]


@dataclass
class SeedResult:
    created: int
    existing: int


def seed_demo_accounts(content: DemoContent, password_hash: str) -> SeedResult:
    """The province admin (in the campaign's root unit), and for each unit below the root its
    reporter (the unit code) and admin (<code>-admin)."""
    existing = set(db.session.scalars(select(User.username)))
    root = campaign_root(active_campaign())
    wanted = [(content.province_username, content.province_name, Role.PROVINCE_ADMIN, root)]
    for unit in db.session.scalars(select(Unit).where(Unit.parent_id.is_not(None))
                                   .order_by(Unit.depth, Unit.position, Unit.id)):
        wanted.append((unit.code, content.reporter_name.format(unit=unit.name), Role.REPORTER, unit))
        wanted.append((f"{unit.code}-admin", content.admin_name.format(unit=unit.name), Role.UNIT_ADMIN, unit))
    created = 0
    for username, display_name, role, unit in wanted:
        if username in existing:
            continue
        db.session.add(User(username=username, display_name=display_name, role=role, unit=unit,
                            password_hash=password_hash, is_enabled=True))
        created += 1
    return SeedResult(created=created, existing=len(wanted) - created)


@dataclass
class Catalogue:
    """What the demo entries are drawn from: the data file and the database, read once."""

    content: DemoContent
    campaign: Campaign
    now: datetime
    units: list[Unit]
    unit_weights: list[float]
    authors: dict[int, int]  # unit id -> reporter id
    contacts: dict[int, list[tuple[str, str]]]  # unit id -> [(name, phone)]
    province_id: int
    kinds: dict  # code -> ActivityKind, only kinds with scenarios
    task_ids: dict[int, int]  # task number -> id
    slogans: list[int]
    scenarios: dict[str, tuple[list[Scenario], list[float]]]  # department -> its scenarios and weights
    calendar: Calendar

    @property
    def today(self) -> date:
        return self.now.astimezone(LOCAL_TZ).date()


@dataclass
class Planned:
    row: dict
    task_ids: list[int]
    events: list[dict]


def seed_demo_activities(content: DemoContent, count: int, *, now: datetime) -> SeedResult:
    """Create entries demo-1 … demo-<count> in the active campaign as they stand at `now`."""
    catalogue = _load_catalogue(content, now)
    existing = set(db.session.scalars(
        select(Activity.form_key).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%"))))
    new = [_plan(random.Random(f"{content.seed}:{number}"), number, catalogue)
           for number in range(1, count + 1) if f"{FORM_KEY_PREFIX}{number}" not in existing]
    if new:
        _insert(new)
    return SeedResult(created=len(new), existing=count - len(new))


def _insert(planned: list[Planned]) -> None:
    # Core inserts on the tables: every row has the same keys, so each table is one
    # executemany. (The ORM's bulk insert drops None values and splits the rows into
    # thousands of small statements, one per run of rows with the same non-null keys.)
    ids = db.session.scalars(
        insert(Activity.__table__).returning(Activity.__table__.c.id, sort_by_parameter_order=True),
        [entry.row for entry in planned],
    ).all()
    links, events = [], []
    for activity_id, entry in zip(ids, planned, strict=True):
        links += [{"activity_id": activity_id, "task_id": task_id} for task_id in entry.task_ids]
        events += [{**event, "object_id": activity_id} for event in entry.events]
    db.session.execute(insert(activity_task), links)
    db.session.execute(insert(AuditEvent.__table__), events)


def _load_catalogue(content: DemoContent, now: datetime) -> Catalogue:
    campaign = active_campaign()
    if campaign is None:
        raise DemoDataError("no campaign loaded: load one before seeding demo activities")
    # A bureau's reporter account is named by the unit code (see seed_demo_accounts).
    reporters = {user.username: user for user in db.session.scalars(select(User).where(User.unit_id.is_not(None)))}
    # The notice's addressees (the root's children); the county example has its own entries (counties.py).
    units = [unit for unit in db.session.scalars(addressed_units(campaign))
             if unit.code in reporters and unit.city in content.cities
             and unit.department.value in content.departments]
    province = db.session.scalar(select(User).where(User.role == Role.PROVINCE_ADMIN).order_by(User.id))
    kinds = {kind.code: kind for kind in campaign.kinds if any(s.kind == kind.code for s in content.scenarios)}
    if not units or province is None or not kinds:
        raise DemoDataError("demo activities need the demo accounts and a campaign with the data file's kinds")
    return Catalogue(
        content=content, campaign=campaign, now=now, units=units,
        unit_weights=[content.departments[unit.department.value].weight for unit in units],
        authors={unit.id: reporters[unit.code].id for unit in units},
        contacts={unit.id: _unit_contacts(random.Random(f"{content.seed}:{unit.code}"), content, unit.city)
                  for unit in units},
        province_id=province.id, kinds=kinds,
        task_ids={task.number: task.id for task in campaign.tasks},
        slogans=[slogan.number for slogan in campaign.slogans],
        scenarios={dept: _weighted_scenarios(content, dept, kinds) for dept in content.departments},
        calendar=Calendar(content, _last_review_day(content, campaign)),
    )


def _last_review_day(content: DemoContent, campaign: Campaign) -> date:
    """The province reviews (and bureaus report late) until some days after the deadline."""
    return to_local_date(campaign.report_due_at) + timedelta(days=content.review_days_after_deadline)


def to_local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _weighted_scenarios(content: DemoContent, dept: str, kinds: dict) -> tuple[list[Scenario], list[float]]:
    """A department's scenarios; each kind's weight is split among its scenarios."""
    scenarios = [s for s in content.scenarios if dept in s.depts and s.kind in kinds]
    siblings = {kind: sum(1 for s in scenarios if s.kind == kind) for kind in kinds}
    return scenarios, [content.kinds[s.kind].weight / siblings[s.kind] for s in scenarios]


def _unit_contacts(rng: random.Random, content: DemoContent, city: str) -> list[tuple[str, str]]:
    """Two people who report for a bureau, each with an office line or a mobile."""
    phones = content.cities[city]
    contacts = []
    for _ in range(2):
        name = rng.choice(content.surnames) + rng.choice(content.given_names)
        if rng.random() < 0.65:
            phone = phones.phone_prefix + "".join(rng.choice("0123456789") for _ in range(phones.phone_digits))
        else:
            phone = rng.choice(content.mobile_prefixes) + "".join(rng.choice("0123456789") for _ in range(8))
        contacts.append((name, phone))
    return contacts


def _plan(rng: random.Random, number: int, catalogue: Catalogue) -> Planned:
    """One entry: its row, its key tasks and its audit trail up to now."""
    content = catalogue.content
    if number <= len(catalogue.units):  # every bureau has entries, even in a small demo
        unit = catalogue.units[number - 1]
    else:
        unit = rng.choices(catalogue.units, catalogue.unit_weights)[0]
    department = content.departments[unit.department.value]
    scenario = rng.choices(*catalogue.scenarios[unit.department.value])[0]
    kind = catalogue.kinds[scenario.kind]
    kind_text = content.kinds[scenario.kind]
    starts_on, ends_on = catalogue.calendar.dates(rng, catalogue.campaign, scenario.days or kind_text.days)
    place = place_of(rng, content, unit, department, scenario)
    figures = figures_of(rng, content, kind.figures, scenario, department, place, catalogue.slogans)
    participants = participants_of(rng, kind_text, figures)
    context = {**figures, "participants": participants, "unit": unit.name, "field": department.field,
               "audience": department.audience, **derived_texts(figures)}
    final_state = ActivityState(rng.choices(list(content.final_states), list(content.final_states.values()))[0])
    contact_name, contact_phone = rng.choice(catalogue.contacts[unit.id])
    name = scenario.name.format(field=department.field)
    results = results_of(rng, scenario, kind_text, context)
    title = title_of(rng, unit, name, scenario, place, catalogue.campaign.starts_on.year)
    co_organisers = co_organisers_of(rng, department, kind_text)
    description = description_of(rng, content, unit, scenario, kind_text, name, place, starts_on, ends_on, context,
                                 today=catalogue.today)
    task_ids = _task_ids(rng, content, kind.default_task_number, catalogue.task_ids)
    half_written = rng.random() < 0.5  # a draft's results may still be blank
    # The history draws from its own generator: what the entry says does not depend on the clock.
    trail = activity_trail(random.Random(f"{content.seed}:{number}:life"), catalogue, final_state, starts_on,
                           ends_on, author=catalogue.authors[unit.id])
    state = trail.state
    if ends_on >= catalogue.today or (state is ActivityState.DRAFT and half_written):
        results = ""
    row = {
        "campaign_id": catalogue.campaign.id, "unit_id": unit.id, "author_id": catalogue.authors[unit.id],
        "kind_id": kind.id, "form_key": f"{FORM_KEY_PREFIX}{number}",
        "title": title, "organiser": unit.name, "co_organisers": co_organisers,
        "starts_on": starts_on, "ends_on": ends_on, "county": place.county, "address": place.address,
        "participants": participants,
        "description": description,
        "results": results,
        "contact_name": contact_name, "contact_phone": contact_phone, "figures": figures,
        "no_fee_declared": state is not ActivityState.DRAFT,
        "state": state, "is_highlight": trail.is_highlight, "return_reason": trail.return_reason,
        "submitted_at": trail.submitted_at, "reviewed_at": trail.reviewed_at,
        "reviewed_by_id": catalogue.province_id if trail.reviewed_at else None,
        "created_at": trail.created_at, "updated_at": trail.updated_at,
    }
    events = [{**event, "unit_id": unit.id} for event in trail.events]
    return Planned(row=row, task_ids=task_ids, events=events)


def _task_ids(rng: random.Random, content: DemoContent, default_number: int | None,
              task_ids: dict[int, int]) -> list[int]:
    numbers = [default_number] if default_number in task_ids else [min(task_ids)]
    if rng.random() < 0.25:
        numbers.append(rng.choice(content.related_tasks.get(numbers[0], (numbers[0],))))
    return [task_ids[n] for n in dict.fromkeys(numbers) if n in task_ids]


def seed_demo_reports(content: DemoContent, *, now: datetime) -> SeedResult:
    """Summary reports as they stand at `now`: none before the campaign's last week, then drafts and
    on-time reports, and late ones (after a reopening) or missing ones only once the deadline has passed."""
    campaign = active_campaign()
    if campaign is None:
        raise DemoDataError("no campaign loaded: load one before seeding demo reports")
    calendar = Calendar(content, _last_review_day(content, campaign))
    admins = {user.username: user for user in db.session.scalars(select(User).where(User.role == Role.UNIT_ADMIN))}
    province = db.session.scalar(select(User).where(User.role == Role.PROVINCE_ADMIN).order_by(User.id))
    done = set(db.session.scalars(select(UnitReport.unit_id).where(UnitReport.campaign_id == campaign.id)))
    counts = _activity_counts(campaign)
    created = existing = 0
    for unit in db.session.scalars(addressed_units(campaign)):
        admin = admins.get(f"{unit.code}-admin")
        if admin is None or province is None:
            continue
        if unit.id in done:
            existing += 1
            continue
        rng = random.Random(f"{content.seed}:report:{unit.code}")
        if _seed_report(rng, content, calendar, campaign, unit, admin, province, counts.get(unit.id, 0), now):
            created += 1
    return SeedResult(created=created, existing=existing)


def _activity_counts(campaign: Campaign) -> dict[int, int]:
    return dict(db.session.execute(select(Activity.unit_id, func.count(Activity.id))
                                   .where(Activity.campaign_id == campaign.id).group_by(Activity.unit_id)).all())


def _seed_report(rng: random.Random, content: DemoContent, calendar: Calendar, campaign: Campaign, unit: Unit,
                 admin: User, province: User, count: int, now: datetime) -> bool:
    """One bureau's report: its whole story drawn first, then what has happened by `now` kept."""
    outcome = rng.choices(list(content.report_outcomes), list(content.report_outcomes.values()))[0]
    due_day = to_local_date(campaign.report_due_at)
    # Bureaus start writing as the last week's activities wind down, and the October
    # holiday (in the data file's calendar) sits between them and the deadline.
    started = calendar.office_time(rng, calendar.workday_on_or_after(campaign.ends_on - timedelta(
        days=rng.randint(0, 8))))
    submitted = reopened = None
    if outcome == "on_time":
        submitted = calendar.later(rng, started, rng.randint(2, 9))
        if to_local_date(submitted) > due_day:
            submitted = max(calendar.office_time(rng, calendar.workday_before(due_day + timedelta(days=1))), started)
    elif outcome == "late":
        reopened = calendar.office_time(rng, calendar.workday_on_or_after(due_day + timedelta(days=rng.randint(1, 3))))
        submitted = calendar.later(rng, reopened, rng.randint(0, 2))
    if started > now:
        return False
    sections = {column: text.format(unit=unit.name, count=count) for column, text in content.reports.items()}
    report = UnitReport(campaign_id=campaign.id, unit_id=unit.id, state=ReportState.DRAFT, revision=1,
                        created_at=started, updated_at=started, **sections)
    db.session.add(report)
    events = []
    if reopened is not None and reopened <= now:
        due_at = datetime.combine(reopened.astimezone(LOCAL_TZ).date() + timedelta(days=7), time(23, 59, 59),
                                  LOCAL_TZ).astimezone(timezone.utc)
        reason = rng.choice(content.reopen_reasons)
        reopening = UnitReopening(campaign_id=campaign.id, unit_id=unit.id, reason=reason, due_at=due_at,
                                  created_by_id=province.id, created_at=reopened)
        db.session.add(reopening)
        db.session.flush()
        events.append(AuditEvent(at=reopened, actor_id=province.id, action="unit.reopen",
                                 object_type="unitreopening", object_id=reopening.id, unit_id=unit.id,
                                 from_state="locked", to_state="open", reason=reason, changes={}))
    if submitted is not None and submitted <= now and (reopened is None or reopened <= now):
        report.state, report.submitted_at, report.submitted_by_id = ReportState.SUBMITTED, submitted, admin.id
        report.signed_on, report.updated_at, report.revision = to_local_date(submitted), submitted, 2
        db.session.flush()
        timeliness = "on_time" if submitted <= campaign.report_due_at else "late"
        events.append(AuditEvent(at=submitted, actor_id=admin.id, action="report.submit", object_type="unitreport",
                                 object_id=report.id, unit_id=unit.id, from_state=ReportState.DRAFT.value,
                                 to_state=ReportState.SUBMITTED.value, reason="",
                                 changes={"timeliness": timeliness}))
    db.session.add_all(events)
    return True
