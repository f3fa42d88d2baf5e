"""The deadline board: one row per unit directly below a parent (the province's cities, a city's
counties), built by one aggregate query. A row's figures are its unit's subtree: a city's
count its counties' entries with its own, as the city's report rolls them up.

Entries per state, the report, the latest reminder and reopening, and last
campaign's figures all come back in a single SELECT (grouped subqueries joined to
the units), so the board costs the same with 44 units or 10,000 entries.
Where a report stands is decided by `deadlines.judge_report`, as everywhere else.
Sorting and filtering happen on the rows in Python.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Integer, and_, bindparam, exists, func, or_, select, union_all
from sqlalchemy.orm import aliased

from .. import timeutil
from ..extensions import db
from ..units import starts_with_path
from ..models import Activity, ActivityState, Campaign, CampaignUnit, Reminder, ReminderRecipient, ReportState, Unit
from ..deadlines import (
    PENDING_STATUSES, SUBMITTED_STATUSES, ReportStanding, ReportStatus, add_report_columns, due_at_with, standing_of,
)

# The entries a unit has reported, as the province roll-up counts them.
COUNTED_STATES = (ActivityState.SUBMITTED, ActivityState.ACCEPTED)
# Each state's count, by the name of its column in the board's SELECT.
STATE_COLUMNS = [(state, f"n_{state.value}") for state in ActivityState]


@dataclass(frozen=True)
class UnitRef:
    """What the board shows of a unit (read as plain columns, not an ORM object)."""

    id: int
    code: str
    name: str
    city: str
    position: int
    has_children: bool = False


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
    standing: ReportStanding
    due_at: datetime
    is_locked: bool
    reopened_due_at: datetime | None
    reopened_reason: str
    reopened_at: datetime | None
    last_reminded_at: datetime | None
    reminder_count: int
    previous_counted: int | None
    previous_participants: int | None
    days_left: int | None = None  # not yet submitted, before the unit's due time (a reopening's, if any)
    days_late: int | None = None  # submitted late or missing: days after the unit's scheduled due date
    scheduled_due_at: datetime | None = None  # set by its parent (or above), earlier than the campaign's

    @property
    def status(self) -> ReportStatus:
        return self.standing.status

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def is_reopened(self) -> bool:
        return self.reopened_due_at is not None

    @property
    def days_note(self) -> str:
        """The 截止 column: days late, days left to the due time in force, or 按时."""
        if self.status is ReportStatus.LATE:
            return f"逾期 {self.days_late} 天报送" if self.days_late > 0 else "截止当天逾期报送"
        if self.status is ReportStatus.MISSING:
            return f"已逾期 {self.days_late} 天" if self.days_late > 0 else "今日已截止"
        if self.days_left is not None:
            return f"剩 {self.days_left} 天" if self.days_left > 0 else "今日截止"
        return "按时"

    @property
    def days_tone(self) -> str:
        """The CSS class that colours days_note."""
        if self.days_late is not None:
            return "days-late"
        if self.days_left is not None:
            return "days-soon" if self.days_left <= 3 else ""
        return "days-done"

    @property
    def due_note(self) -> str:
        """The due time in force, as the board shows it: 补报至 10-15 23:59, or 10-10 23:59 截止."""
        when = timeutil.format_local(self.due_at, "%m-%d %H:%M")
        return f"补报至 {when}" if self.is_reopened else f"{when} 截止"

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
    parent: Unit | None = None  # whose children the rows are (None: one unit's row)

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


def _board_statement(one_unit: bool):
    """The board's SELECT, with the campaign (and unit) as bound parameters."""
    campaign_id, year = bindparam("campaign_id", type_=Integer), bindparam("year", type_=Integer)
    previous_id = (select(Campaign.id).where(Campaign.year < year)
                   .order_by(Campaign.year.desc(), Campaign.id.desc()).limit(1).scalar_subquery())
    previous_year = (select(Campaign.year).where(Campaign.year < year)
                     .order_by(Campaign.year.desc()).limit(1).scalar_subquery())
    # This year's and last year's entries of the board's subtree, counted per campaign, unit and
    # state: that reads only the covering index ix_activity_campaign_unit_state (campaign_id,
    # unit_id, state, participants, with the id) for the subtree's units (not the whole nation's),
    # never the rows with their long texts. The few hundred groups are then folded into one row per board
    # unit. The latest entry is the highest id; its time is read from that one row.
    # A row's figures are its unit's subtree (the unit's own entries and all below it), as its
    # report's roll-up counts them: each unit of the tree being counted is first mapped to the row
    # whose path prefixes its own, found through the paths' index on PostgreSQL (starts_with_path).
    board_unit, member = aliased(Unit, name="board_unit"), aliased(Unit, name="member")
    rows_of = (
        select(board_unit.id.label("row_id"), member.id.label("unit_id"))
        .join(member, starts_with_path(member.path, board_unit.path))
        .where(board_unit.id == bindparam("unit_id") if one_unit else board_unit.parent_id == bindparam("parent_id"))
        .cte("rows_of")
    )
    # Last year's figures of a row are its unit's subtree in last year's own tree, once that
    # campaign has one (see qmonth/units.py freeze_tree): a county moved to another city since
    # still counts in its old city's last-year figures. Until then the live tree maps both years.
    row_before, member_before = aliased(CampaignUnit, name="row_before"), aliased(CampaignUnit, name="member_before")
    board_ids = (select(board_unit.id).where(board_unit.id == bindparam("unit_id")) if one_unit else
                 select(board_unit.id).where(board_unit.parent_id == bindparam("parent_id")))
    rows_before = (
        select(row_before.unit_id.label("row_id"), member_before.unit_id.label("unit_id"))
        .join(member_before, and_(member_before.campaign_id == row_before.campaign_id,
                                  starts_with_path(member_before.path, row_before.path)))
        .where(row_before.campaign_id == previous_id, row_before.unit_id.in_(board_ids))
        .cte("rows_before")
    )
    previous_has_tree = exists(select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == previous_id))

    def counted_by(mapping, *conditions):
        # Counted per unit first, then per row: joined to the mapping directly, SQLite read the
        # campaign's whole index once for every row of the board (44 x all entries: 141 ms at
        # 3,000 entries); per unit, both databases read each subtree unit's index range once.
        per_unit = (
            select(Activity.campaign_id, Activity.unit_id, Activity.state, func.count().label("entries"),
                   func.sum(Activity.participants).label("people"), func.max(Activity.id).label("last_id"))
            .where(*conditions, Activity.unit_id.in_(select(mapping.c.unit_id)))
            .group_by(Activity.campaign_id, Activity.unit_id, Activity.state)
            .subquery()
        )
        return (
            select(per_unit.c.campaign_id, mapping.c.row_id.label("unit_id"), per_unit.c.state,
                   func.sum(per_unit.c.entries).label("entries"), func.sum(per_unit.c.people).label("people"),
                   func.max(per_unit.c.last_id).label("last_id"))
            .join(mapping, mapping.c.unit_id == per_unit.c.unit_id)
            .group_by(per_unit.c.campaign_id, mapping.c.row_id, per_unit.c.state)
        )

    by_state = union_all(
        counted_by(rows_of, Activity.campaign_id.in_([campaign_id, previous_id]),
                   or_(Activity.campaign_id == campaign_id, ~previous_has_tree)),
        counted_by(rows_before, Activity.campaign_id == previous_id),
    ).subquery("by_state")
    this_year = by_state.c.campaign_id == campaign_id
    last_year = by_state.c.campaign_id != campaign_id
    # Equalities, not IN: an IN of values is re-expanded into the SQL text at every execution.
    counted = or_(*(by_state.c.state == state for state in COUNTED_STATES))
    entries = (
        select(
            by_state.c.unit_id,
            *(func.sum(by_state.c.entries).filter(this_year, by_state.c.state == state).label(column)
              for state, column in STATE_COLUMNS),
            func.sum(by_state.c.entries).filter(this_year, counted).label("counted"),
            func.sum(by_state.c.people).filter(this_year, counted).label("participants"),
            func.max(by_state.c.last_id).filter(this_year).label("last_entry_id"),
            func.sum(by_state.c.entries).filter(last_year, counted).label("previous_counted"),
            func.sum(by_state.c.people).filter(last_year, counted).label("previous_participants"),
        )
        .group_by(by_state.c.unit_id)
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
    last_entry = aliased(Activity, name="last_entry")
    child = aliased(Unit, name="child")
    has_children = exists(select(child.id).where(child.parent_id == Unit.id, child.retired_at.is_(None)))
    query = (
        select(
            Unit.id, Unit.code, Unit.name, Unit.city, Unit.position, has_children.label("has_children"),
            *(entries.c[column] for _state, column in STATE_COLUMNS),
            entries.c.counted, entries.c.participants, last_entry.created_at.label("last_entry_at"),
            reminded.c.last_at.label("last_reminded_at"), reminded.c.count.label("reminder_count"),
            entries.c.previous_counted, entries.c.previous_participants,
            previous_year.label("previous_year"),
        )
        .outerjoin(entries, entries.c.unit_id == Unit.id)
        .outerjoin(last_entry, last_entry.id == entries.c.last_entry_id)
        .outerjoin(reminded, reminded.c.unit_id == Unit.id)
    )
    # The report and the latest reopening: the same columns every other view of the status reads.
    query = add_report_columns(query, campaign_id).order_by(Unit.position, Unit.id)
    if one_unit:
        query = query.where(Unit.id == bindparam("unit_id"))
    else:
        # A board lists the units directly below one: the root's (the notice's addressees) for
        # the province, a city bureau's counties for that city.
        query = query.where(Unit.parent_id == bindparam("parent_id"), Unit.retired_at.is_(None))
    return query


# Built once per process: the statement is large, and building it costs more than running it.
_STATEMENTS = {one_unit: _board_statement(one_unit) for one_unit in (False, True)}


def _number(value) -> int:
    """Sums come back as Decimal on PostgreSQL and None where a unit has no entries."""
    return int(value or 0)


def build_board(campaign: Campaign, now: datetime | None = None, *, unit_id: int | None = None,
                parent: Unit | None = None) -> Board:
    """The rows of the units directly below `parent` (the root's when none is given), or one
    unit's row, judged at `now`."""
    now = now or timeutil.utcnow()
    today = _local_date(now)
    rows: list[BoardRow] = []
    previous_year = None
    cities: list[str] = []
    parent_id = parent.id if parent is not None else campaign.root_unit_id
    params = {"campaign_id": campaign.id, "year": campaign.year, "unit_id": unit_id, "parent_id": parent_id}
    # Core rows, not ORM entities: the board only reads, and 44 plain rows are cheaper.
    for record in db.session.connection().execute(_STATEMENTS[unit_id is not None], params):
        columns = record._mapping
        unit = UnitRef(record.id, record.code, record.name, record.city, record.position,
                       bool(record.has_children))
        previous_year = record.previous_year
        due_at = due_at_with(campaign, record.reopened_due_at, record.scheduled_due_at)
        scheduled_day = _local_date(due_at_with(campaign, None, record.scheduled_due_at))
        standing = standing_of(record, campaign, now)
        row = BoardRow(
            unit=unit,
            counts={state: _number(columns[column]) for state, column in STATE_COLUMNS},
            counted=_number(record.counted),
            participants=_number(record.participants),
            last_entry_at=record.last_entry_at,
            report_state=record.report_state,
            submitted_at=record.submitted_at,
            standing=standing,
            due_at=due_at,
            is_locked=now > due_at,
            reopened_due_at=record.reopened_due_at,
            reopened_reason=record.reopened_reason or "",
            reopened_at=record.reopened_at,
            last_reminded_at=record.last_reminded_at,
            reminder_count=record.reminder_count or 0,
            previous_counted=_number(record.previous_counted) if previous_year else None,
            previous_participants=_number(record.previous_participants) if previous_year else None,
            scheduled_due_at=record.scheduled_due_at,
        )
        # Late is late against the unit's scheduled due date, reopened or not; days left count
        # down to the due time the unit works to now (a reopening's, while it is open).
        if standing.status is ReportStatus.LATE:
            row.days_late = (_local_date(record.submitted_at) - scheduled_day).days
        elif standing.status is ReportStatus.MISSING:
            row.days_late = (today - scheduled_day).days
        elif standing.status in PENDING_STATUSES:
            row.days_left = (_local_date(due_at) - today).days
        rows.append(row)
        if unit.city not in cities:
            cities.append(unit.city)
    return Board(campaign=campaign, rows=rows, now=now, previous_year=previous_year, cities=cities,
                 parent=parent if unit_id is None else None)


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
    """Sort, city and report status as they appear in the URL; unknown values are dropped.
    `under`: the unit drilled down to (its code; empty on the viewer's own board), checked by
    the view against the viewer's subtree."""

    sort: str = DEFAULT_SORT
    city: str = ""
    status: ReportStatus | None = None
    under: str = ""

    @classmethod
    def from_args(cls, args, cities: list[str], under: str = "") -> BoardFilters:
        sort = args.get("sort", DEFAULT_SORT)
        city = (args.get("city") or "").strip()
        status = next((s for s in ReportStatus if s.value == args.get("status")), None)
        return cls(sort=sort if sort.lstrip("-") in SORT_KEYS else DEFAULT_SORT,
                   city=city if city in cities else "", status=status, under=under)

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def to_args(self, **changes) -> dict:
        values = {"under": self.under, "sort": "" if self.sort == DEFAULT_SORT else self.sort, "city": self.city,
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
