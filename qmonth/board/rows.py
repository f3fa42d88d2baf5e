"""The deadline board: one row per unit, built by one aggregate query.

Entries per state, the report, the latest reminder and reopening, and last
campaign's figures all come back in a single SELECT (grouped subqueries joined to
the units), so the board costs the same with 44 units or 10,000 entries.
Sorting and filtering happen on the 44 rows in Python.
"""
from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Integer, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from .. import timeutil
from ..extensions import db
from ..models import (
    Activity, ActivityState, Campaign, Reminder, ReminderRecipient, ReportState, Unit, UnitReopening, UnitReport,
)
from .deadlines import due_at_with

# The entries a unit has reported, as the province roll-up counts them.
COUNTED_STATES = (ActivityState.SUBMITTED, ActivityState.ACCEPTED)


class ReportStatus(enum.Enum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return REPORT_STATUS_LABELS[self]


REPORT_STATUS_LABELS = {
    ReportStatus.NOT_STARTED: "未开始",
    ReportStatus.DRAFT: "草稿",
    ReportStatus.ON_TIME: "按时报送",
    ReportStatus.LATE: "逾期报送",
    ReportStatus.MISSING: "未报送",
}
SUBMITTED_STATUSES = (ReportStatus.ON_TIME, ReportStatus.LATE)


@dataclass(frozen=True)
class UnitRef:
    """What the board shows of a unit (read as plain columns, not an ORM object)."""

    id: int
    code: str
    name: str
    city: str
    position: int


@dataclass
class BoardRow:
    """One unit against its due time (everything judged at `now`, dates in Asia/Shanghai)."""

    unit: UnitRef
    counts: dict[ActivityState, int]
    counted: int
    participants: int
    last_entry_at: datetime | None
    report_state: ReportState | None
    submitted_at: datetime | None
    status: ReportStatus
    due_at: datetime
    is_locked: bool
    reopened_due_at: datetime | None
    reopened_reason: str
    reopened_at: datetime | None
    last_reminded_at: datetime | None
    reminder_count: int
    previous_counted: int | None
    previous_participants: int | None
    days_left: int | None = None  # before the due time, not yet submitted
    days_late: int | None = None  # missing, or submitted late

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def is_reopened(self) -> bool:
        return self.reopened_due_at is not None

    @property
    def overdue_days(self) -> int | None:
        """One number to sort by "days late": late ones positive, days left negative, on time none."""
        if self.days_late is not None:
            return self.days_late
        if self.days_left is not None:
            return -self.days_left - 1
        return None


@dataclass
class Board:
    campaign: Campaign
    rows: list[BoardRow]
    now: datetime
    previous_year: int | None
    cities: list[str] = field(default_factory=list)

    @property
    def status_counts(self) -> dict[ReportStatus, int]:
        counts = Counter(row.status for row in self.rows)
        return {status: counts.get(status, 0) for status in ReportStatus}

    @property
    def state_totals(self) -> dict[ActivityState, int]:
        return {state: sum(row.counts[state] for row in self.rows) for state in ActivityState}

    def units_without_submitted_report(self) -> list[UnitRef]:
        return [row.unit for row in self.rows if row.status not in SUBMITTED_STATUSES]


def _local_date(moment: datetime) -> date:
    return timeutil.to_local(moment).date()


def report_status(*, report_state: ReportState | None, submitted_at: datetime | None, on_time: bool,
                  due_at: datetime, now: datetime) -> ReportStatus:
    """未开始 / 草稿 before the due time; 按时 / 逾期报送 once submitted; 未报送 after it without one."""
    if report_state is ReportState.SUBMITTED and submitted_at is not None:
        return ReportStatus.ON_TIME if on_time else ReportStatus.LATE
    if now > due_at:
        return ReportStatus.MISSING
    return ReportStatus.DRAFT if report_state is not None else ReportStatus.NOT_STARTED


def _board_statement(one_unit: bool):
    """The board's SELECT, with the campaign (and unit) as bound parameters."""
    campaign_id, year = bindparam("campaign_id", type_=Integer), bindparam("year", type_=Integer)
    states = list(ActivityState)
    counted = Activity.state.in_(COUNTED_STATES)
    previous_id = (select(Campaign.id).where(Campaign.year < year)
                   .order_by(Campaign.year.desc(), Campaign.id.desc()).limit(1).scalar_subquery())
    previous_year = (select(Campaign.year).where(Campaign.year < year)
                     .order_by(Campaign.year.desc()).limit(1).scalar_subquery())
    this_year, last_year = Activity.campaign_id == campaign_id, Activity.campaign_id == previous_id
    # This year's and last year's entries in one pass over the table. Grouping by
    # `unit_id + 0` keeps SQLite from walking the unit_id index, which visits the rows
    # in random order (three times slower than reading them in turn and sorting 44 groups).
    # The latest entry is the highest id, its time read from that one row afterwards:
    # created_at sits behind the long texts, and reading it from every row doubles the cost.
    grouped_unit = (Activity.unit_id + 0).label("unit_id")
    entries = (
        select(
            grouped_unit,
            *(func.count(Activity.id).filter(this_year, Activity.state == state).label(f"n_{state.value}")
              for state in states),
            func.count(Activity.id).filter(this_year, counted).label("counted"),
            func.coalesce(func.sum(Activity.participants).filter(this_year, counted), 0).label("participants"),
            func.max(Activity.id).filter(this_year).label("last_entry_id"),
            func.count(Activity.id).filter(last_year, counted).label("previous_counted"),
            func.coalesce(func.sum(Activity.participants).filter(last_year, counted), 0)
            .label("previous_participants"),
        )
        .where(or_(this_year, last_year), *([Activity.unit_id == bindparam("unit_id")] if one_unit else []))
        .group_by(grouped_unit)
        .subquery("entries")
    )
    reminded = (
        select(ReminderRecipient.unit_id.label("unit_id"), func.max(Reminder.sent_at).label("last_at"),
               func.count(ReminderRecipient.id).label("count"))
        .join(Reminder, Reminder.id == ReminderRecipient.reminder_id)
        .where(Reminder.campaign_id == campaign_id)
        .group_by(ReminderRecipient.unit_id)
        .subquery("reminded")
    )
    latest_reopening = (
        select(func.max(UnitReopening.id).label("id"))
        .where(UnitReopening.campaign_id == campaign_id)
        .group_by(UnitReopening.unit_id)
        .subquery("latest_reopening")
    )
    last_entry = aliased(Activity, name="last_entry")
    reopening = aliased(UnitReopening, name="reopening")
    window = aliased(UnitReopening, name="window")
    # A report submitted after the campaign's due time is still on time when it came in
    # while a reopening was open (created before it, due after it).
    within_reopening = exists(
        select(window.id).where(window.unit_id == Unit.id, window.campaign_id == campaign_id,
                                window.created_at <= UnitReport.submitted_at,
                                window.due_at >= UnitReport.submitted_at)
    )
    query = (
        select(
            Unit.id, Unit.code, Unit.name, Unit.city, Unit.position,
            *(entries.c[f"n_{state.value}"] for state in states),
            entries.c.counted, entries.c.participants, last_entry.created_at.label("last_entry_at"),
            UnitReport.state.label("report_state"), UnitReport.submitted_at,
            within_reopening.label("within_reopening"),
            reopening.due_at.label("reopened_due_at"), reopening.reason.label("reopened_reason"),
            reopening.created_at.label("reopened_at"),
            reminded.c.last_at.label("last_reminded_at"), reminded.c.count.label("reminder_count"),
            entries.c.previous_counted, entries.c.previous_participants,
            previous_year.label("previous_year"),
        )
        .outerjoin(entries, entries.c.unit_id == Unit.id)
        .outerjoin(last_entry, last_entry.id == entries.c.last_entry_id)
        .outerjoin(UnitReport, and_(UnitReport.unit_id == Unit.id, UnitReport.campaign_id == campaign_id))
        .outerjoin(reopening, and_(reopening.unit_id == Unit.id, reopening.id.in_(select(latest_reopening.c.id))))
        .outerjoin(reminded, reminded.c.unit_id == Unit.id)
        .order_by(Unit.position, Unit.id)
    )
    if one_unit:
        query = query.where(Unit.id == bindparam("unit_id"))
    return query


# Built once per process: the statement is large, and building it costs more than running it.
_STATEMENTS = {one_unit: _board_statement(one_unit) for one_unit in (False, True)}


def build_board(campaign: Campaign, now: datetime | None = None, *, unit_id: int | None = None) -> Board:
    """Every unit's row (or one unit's), judged at `now`."""
    now = now or timeutil.utcnow()
    today = _local_date(now)
    rows: list[BoardRow] = []
    previous_year = None
    cities: list[str] = []
    params = {"campaign_id": campaign.id, "year": campaign.year, "unit_id": unit_id}
    # Core rows, not ORM entities: the board only reads, and 44 plain rows are cheaper.
    for record in db.session.connection().execute(_STATEMENTS[unit_id is not None], params):
        unit = UnitRef(record.id, record.code, record.name, record.city, record.position)
        previous_year = record.previous_year
        due_at = due_at_with(campaign, record.reopened_due_at)
        submitted_at = record.submitted_at
        on_time = submitted_at is not None and (submitted_at <= campaign.report_due_at
                                                or bool(record.within_reopening))
        status = report_status(report_state=record.report_state, submitted_at=submitted_at, on_time=on_time,
                               due_at=due_at, now=now)
        row = BoardRow(
            unit=unit,
            counts={state: record._mapping[f"n_{state.value}"] or 0 for state in ActivityState},
            counted=record.counted or 0,
            participants=record.participants or 0,
            last_entry_at=record.last_entry_at,
            report_state=record.report_state,
            submitted_at=submitted_at,
            status=status,
            due_at=due_at,
            is_locked=now > due_at,
            reopened_due_at=record.reopened_due_at,
            reopened_reason=record.reopened_reason or "",
            reopened_at=record.reopened_at,
            last_reminded_at=record.last_reminded_at,
            reminder_count=record.reminder_count or 0,
            previous_counted=(record.previous_counted or 0) if previous_year else None,
            previous_participants=(record.previous_participants or 0) if previous_year else None,
        )
        due_day = _local_date(due_at)
        if status is ReportStatus.LATE:
            row.days_late = (_local_date(submitted_at) - due_day).days
        elif status is ReportStatus.MISSING:
            row.days_late = (today - due_day).days
        elif status in (ReportStatus.NOT_STARTED, ReportStatus.DRAFT):
            row.days_left = (due_day - today).days
        rows.append(row)
        if unit.city not in cities:
            cities.append(unit.city)
    return Board(campaign=campaign, rows=rows, now=now, previous_year=previous_year, cities=cities)


# Sorting and filtering --------------------------------------------------------------

STATUS_ORDER = {status: rank for rank, status in enumerate(
    (ReportStatus.MISSING, ReportStatus.NOT_STARTED, ReportStatus.DRAFT, ReportStatus.LATE, ReportStatus.ON_TIME))}

SORT_KEYS = {
    "unit": lambda row: row.unit.position,
    "city": lambda row: (row.unit.city, row.unit.position),
    "draft": lambda row: row.counts[ActivityState.DRAFT],
    "submitted": lambda row: row.counts[ActivityState.SUBMITTED],
    "accepted": lambda row: row.counts[ActivityState.ACCEPTED],
    "returned": lambda row: row.counts[ActivityState.RETURNED],
    "total": lambda row: row.total,
    "last_entry": lambda row: row.last_entry_at,
    "report": lambda row: STATUS_ORDER[row.status],
    # Equally late: a missing report before one that came in late.
    "days": lambda row: None if row.overdue_days is None else (row.overdue_days, row.status is ReportStatus.MISSING),
    "reminded": lambda row: row.last_reminded_at,
    "reopened": lambda row: row.reopened_due_at,
    "counted": lambda row: row.counted,
    "participants": lambda row: row.participants,
    "previous_counted": lambda row: row.previous_counted,
    "previous_participants": lambda row: row.previous_participants,
}
DEFAULT_SORT = "unit"
# The sort choices offered as a list (on a phone the column headers are not shown).
SORT_CHOICES = {
    "unit": "单位顺序", "-days": "逾期天数（多→少）", "days": "剩余天数（少→多）", "report": "总结报告状态",
    "-total": "活动合计（多→少）", "-last_entry": "最近登记（新→旧）", "-reminded": "最近催报（新→旧）",
}


@dataclass(frozen=True)
class BoardFilters:
    """Sort, city and report status as they appear in the URL; unknown values are dropped."""

    sort: str = DEFAULT_SORT
    city: str = ""
    status: ReportStatus | None = None

    @classmethod
    def from_args(cls, args, cities: list[str]) -> BoardFilters:
        sort = args.get("sort", DEFAULT_SORT)
        city = (args.get("city") or "").strip()
        status = next((s for s in ReportStatus if s.value == args.get("status")), None)
        return cls(sort=sort if sort.lstrip("-") in SORT_KEYS else DEFAULT_SORT,
                   city=city if city in cities else "", status=status)

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def to_args(self, **changes) -> dict:
        values = {"sort": "" if self.sort == DEFAULT_SORT else self.sort, "city": self.city,
                  "status": self.status.value if self.status else ""}
        values.update(changes)
        return {key: value for key, value in values.items() if value}

    def sort_link(self, key: str) -> dict:
        """Args for a column header: sort by it, or reverse it when it is the current sort.
        Numbers and dates start with the largest first, names in their usual order."""
        if self.sort_key == key:
            return self.to_args(sort=key if self.descending else f"-{key}")
        return self.to_args(sort=key if key in ("unit", "city") else f"-{key}")

    def aria_sort(self, key: str) -> str:
        if self.sort_key != key:
            return "none"
        return "descending" if self.descending else "ascending"

    def apply(self, rows: list[BoardRow]) -> list[BoardRow]:
        shown = [row for row in rows if (not self.city or row.unit.city == self.city)
                 and (self.status is None or row.status is self.status)]
        key = SORT_KEYS[self.sort_key]
        present = [row for row in shown if key(row) is not None]
        absent = [row for row in shown if key(row) is None]
        present.sort(key=lambda row: row.unit.position)  # ties keep the official order
        present.sort(key=key, reverse=self.descending)
        return present + absent
