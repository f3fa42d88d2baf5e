"""What a report prints: figures computed from the entries, and the entries themselves.

Only submitted and accepted entries count: a draft or a returned entry is not
yet something the bureau has reported. Everything here reads; nothing writes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..access import visible_activities
from ..units import (
    PlacedUnit, campaign_addressed_units, frozen_names, frozen_paths, placed_children, placed_subtree_ids, placed_unit,
    reads_own_tree,
)
from ..deadlines import ReportStanding, ReportStatus, report_standings
from ..extensions import db
from ..models import (
    Activity, ActivityKind, ActivityState, Bulletin, Campaign, Photo, ReportState, Task, TaskGroup, Unit, UnitReport,
    User,
)
from ..timeutil import format_date_cn, to_local, utcnow

COUNTED_STATES = (ActivityState.SUBMITTED, ActivityState.ACCEPTED)
HIGHLIGHT_PHOTOS = 2  # photos printed with a highlight or a bulletin item


@dataclass(frozen=True)
class FigureTotal:
    label: str
    unit: str
    total: int

    @property
    def text(self) -> str:
        return f"{self.label}{self.total}{self.unit}"


@dataclass(frozen=True)
class FigureRate:
    """A rate of two summed figures (整改率 = 完成整改 / 发现问题), never an average of rates."""
    label: str
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None

    @property
    def text(self) -> str:
        return f"{self.label}{self.percent:g}%"


@dataclass
class KindSummary:
    kind: ActivityKind
    count: int = 0
    participants: int = 0
    figures: list[FigureTotal] = field(default_factory=list)
    rates: list[FigureRate] = field(default_factory=list)

    @property
    def rates_known(self) -> list[FigureRate]:
        return [rate for rate in self.rates if rate.percent is not None]


@dataclass
class TaskSummary:
    task: Task
    count: int = 0
    participants: int = 0


@dataclass
class Figures:
    """Totals over a set of counted entries."""

    count: int
    participants: int
    tasks: list[TaskSummary]
    kinds: list[KindSummary]

    @property
    def kinds_with_entries(self) -> list[KindSummary]:
        return [kind for kind in self.kinds if kind.count]

    @property
    def tasks_with_entries(self) -> list[TaskSummary]:
        return [task for task in self.tasks if task.count]

    @property
    def figure_totals(self) -> list[FigureTotal]:
        return [figure for kind in self.kinds for figure in kind.figures if figure.total]

    @property
    def rates(self) -> list[FigureRate]:
        return [rate for kind in self.kinds for rate in kind.rates_known]


def compute_figures(campaign: Campaign, activities: list[Activity]) -> Figures:
    """Counts per task and kind, participants, and each kind's own int figures summed."""
    kinds = {kind.id: KindSummary(kind) for kind in campaign.kinds}
    tasks = {task.id: TaskSummary(task) for task in campaign.tasks}
    sums: dict[int, Counter] = defaultdict(Counter)
    participants = 0
    for activity in activities:
        people = activity.participants or 0
        participants += people
        kind = kinds.setdefault(activity.kind_id, KindSummary(activity.kind))
        kind.count += 1
        kind.participants += people
        for code, value in (activity.figures or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                sums[activity.kind_id][code] += value
        for task in activity.tasks:
            summary = tasks.setdefault(task.id, TaskSummary(task))
            summary.count += 1
            summary.participants += people
    for kind_id, summary in kinds.items():
        definitions = [d for d in summary.kind.figures or [] if d.get("type") == "int"]
        summary.figures = [
            FigureTotal(definition["label"], definition.get("unit", ""), sums[kind_id][definition["code"]])
            for definition in definitions
        ]
        summary.rates = [
            FigureRate(definition["rate_label"], sums[kind_id][definition["code"]], sums[kind_id][definition["rate_of"]])
            for definition in definitions if definition.get("rate_of") and definition.get("rate_label")
        ]
    return Figures(count=len(activities), participants=participants,
                   tasks=sorted(tasks.values(), key=lambda t: t.task.number),
                   kinds=sorted(kinds.values(), key=lambda k: k.kind.position))


def counted_activities(campaign: Campaign, *, unit: Unit | PlacedUnit | None = None, viewer: User | None = None,
                       ids: list[int] | None = None, subtree: bool = False) -> list[Activity]:
    """Submitted and accepted entries, in date order, with what the report prints loaded.

    With `subtree`, the unit's own submitted and accepted entries and the ACCEPTED entries of every
    unit below it (one path-LIKE subquery, whatever the depth): what the units below reported
    counts once their parent has accepted it. The subtree is the campaign's own (see `shown_unit`)."""
    query = visible_activities(viewer) if viewer is not None else select(Activity)
    query = query.where(Activity.campaign_id == campaign.id, Activity.state.in_(COUNTED_STATES))
    if unit is not None and subtree:
        query = query.where(or_(Activity.unit_id == unit.id,
                                and_(Activity.unit_id.in_(placed_subtree_ids(campaign.id, unit)),
                                     Activity.state == ActivityState.ACCEPTED)))
    elif unit is not None:
        query = query.where(Activity.unit_id == unit.id)
    if ids is not None:
        query = query.where(Activity.id.in_(ids))
    query = query.options(
        joinedload(Activity.kind), joinedload(Activity.unit),
        selectinload(Activity.tasks), selectinload(Activity.photos), selectinload(Activity.attachments),
    ).order_by(Activity.starts_on, Activity.id)
    return list(db.session.scalars(query).unique())


def primary_task(activity: Activity) -> Task | None:
    """The task an entry is listed under in 二、 (its lowest-numbered task), so it appears once."""
    return activity.tasks[0] if activity.tasks else None


@dataclass
class TaskSection:
    task: Task
    activities: list[Activity]


@dataclass
class GroupSection:
    group: TaskGroup
    tasks: list[TaskSection]


def by_group_and_task(campaign: Campaign, activities: list[Activity]) -> list[GroupSection]:
    by_task: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        task = primary_task(activity)
        if task is not None:
            by_task[task.id].append(activity)
    sections = []
    for group in campaign.groups:
        tasks = [TaskSection(task, by_task[task.id]) for task in group.tasks if by_task.get(task.id)]
        if tasks:
            sections.append(GroupSection(group, tasks))
    return sections


def latest_update(*moments: datetime | None) -> datetime:
    """The newest of the given times: the PDF's fixed creation date."""
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else datetime(2000, 1, 1, tzinfo=timezone.utc)


def activity_moments(activities: list[Activity]) -> list[datetime]:
    moments = [activity.updated_at for activity in activities]
    moments += [photo.created_at for activity in activities for photo in activity.photos]
    moments += [item.created_at for activity in activities for item in activity.attachments]
    return moments


def campaign_period(campaign: Campaign) -> str:
    return f"{format_date_cn(campaign.starts_on)}至{format_date_cn(campaign.ends_on)}"


# The bureau's summary report ----------------------------------------------------

OWN_LEVEL = "本级"


@dataclass
class UnitSection:
    """One block of the report's listing: the unit's own entries (本级), or one unit directly below
    it with the accepted entries of its whole subtree."""
    label: str
    unit: Unit | PlacedUnit
    activities: list[Activity]
    own: bool = False

    @property
    def count(self) -> int:
        return len(self.activities)

    @property
    def participants(self) -> int:
        return sum(activity.participants or 0 for activity in self.activities)


@dataclass
class UnitReportData:
    campaign: Campaign
    unit: Unit | PlacedUnit  # as the campaign's tree has it (see `shown_unit`)
    report: UnitReport
    activities: list[Activity]
    figures: Figures
    groups: list[GroupSection]
    highlights: list[Activity]
    updated_at: datetime
    sections: list[UnitSection] = field(default_factory=list)
    # Whom the report is addressed to (主送机关): see `addressee_of`.
    addressee: str = ""
    # The root's report: an upward document with the 全省汇总 of every addressed unit as its annex.
    upward: bool = False
    annex: list[AnnexRow] = field(default_factory=list)

    @property
    def rolled_up(self) -> bool:
        """Whether the report covers units below (a leaf unit's report looks as it always has)."""
        return len(self.sections) > 1

    @property
    def own_section(self) -> UnitSection:
        return self.sections[0]

    @property
    def below_sections(self) -> list[UnitSection]:
        return self.sections[1:]

    @property
    def title(self) -> str:
        return unit_report_title(self.campaign, self.unit)

    @property
    def photos(self) -> list[Photo]:
        return [photo for activity in self.activities for photo in activity.photos]

    @property
    def files(self) -> list:
        """Videos and documents: named in the attachment list, never printed."""
        return [item for activity in self.activities for item in activity.attachments]

    @property
    def signed_on(self) -> date:
        return self.report.signed_on or to_local(self.report.submitted_at or self.updated_at).date()

    @property
    def signature(self) -> str:
        return self.report.signature or self.unit.name


@dataclass
class AnnexRow:
    """One addressed unit in the root report's annex (全省汇总): as the province page shows it."""
    name: str
    status_label: str
    submitted: str
    count: int
    participants: int


def is_root(campaign: Campaign, unit) -> bool:
    return campaign.root_unit_id is not None and unit.id == campaign.root_unit_id


def shown_unit(campaign: Campaign, unit: Unit | PlacedUnit) -> Unit | PlacedUnit:
    """The unit as the campaign's tree has it: for a past campaign its name, parent and subtree of
    that year (a report never submitted, so with no snapshot, is still that year's report)."""
    return placed_unit(campaign.id, unit.id) if reads_own_tree(campaign.id) else unit


def addressee_of(campaign: Campaign, unit: Unit | PlacedUnit) -> str:
    """Whom a unit's report goes to: the root's to the level above (upward_addressee), a unit
    directly below the root to the issuer (report_addressee), a deeper unit to its parent (in
    the campaign's tree)."""
    if is_root(campaign, unit):
        return campaign.upward_addressee or campaign.report_addressee or campaign.issuer
    parent = placed_unit(campaign.id, shown_unit(campaign, unit).parent_id)
    if parent is None or parent.id == campaign.root_unit_id:
        return campaign.report_addressee or campaign.issuer
    return parent.name


def annex_rows(campaign: Campaign) -> list[AnnexRow]:
    """The 全省汇总 status sheet of every addressed unit, for the root report's annex."""
    rows = build_province(campaign).rows
    return [AnnexRow(row.unit.name, row.status_label,
                     format_date_cn(to_local(row.report.submitted_at).date())
                     if row.report and row.report.submitted_at else "", row.count, row.participants)
            for row in rows]


def unit_report_title(campaign: Campaign, unit: Unit) -> str:
    return f"{unit.name}{campaign.year}年住建系统“质量月”活动总结报告"


def unit_sections(unit: Unit | PlacedUnit, activities: list[Activity], campaign_id: int | None = None
                  ) -> list[UnitSection]:
    """本级 first, then each unit directly below with its subtree's entries, in the (campaign's)
    tree's order. An entry belongs to the child whose id follows the unit's own in the entry's
    unit path."""
    children = placed_children(campaign_id, unit.id)
    paths = frozen_paths(campaign_id, {activity.unit_id for activity in activities})
    sections = {child.id: UnitSection(child.name, child, []) for child in children}
    own = UnitSection(OWN_LEVEL, unit, [], own=True)
    for activity in activities:
        if activity.unit_id == unit.id:
            own.activities.append(activity)
            continue
        child_id = _child_on_path(unit.path or "", paths.get(activity.unit_id) or activity.unit.path or "")
        if child_id in sections:
            sections[child_id].activities.append(activity)
    below = [sections[child.id] for child in children if child.retired_at is None or sections[child.id].activities]
    return [own, *below]


def _child_on_path(unit_path: str, entry_path: str) -> int | None:
    """The id that follows a unit's own in an entry's unit path: the unit directly below it the
    entry lies under (None for the unit's own entries)."""
    rest = entry_path[len(unit_path):]
    return int(rest.split("/", 1)[0]) if rest[:1].isdigit() else None


def build_unit_report(campaign: Campaign, unit: Unit, report: UnitReport, *,
                      viewer: User | None = None, live: bool = False) -> UnitReportData:
    """The report of a unit and its subtree: its own submitted and accepted entries and the accepted
    entries below, each entry once (an entry has one unit however many co-organised it).

    A submitted report is what was submitted: its snapshot (qmonth/reports/snapshot.py), unless
    `live` asks for today's entries (as the submit does to take the snapshot)."""
    if not live and report.state is ReportState.SUBMITTED and report.snapshot:
        from .snapshot import restore

        return restore(campaign, report)
    unit = shown_unit(campaign, unit)
    activities = counted_activities(campaign, unit=unit, viewer=viewer, subtree=True)
    sections = unit_sections(unit, activities, campaign.id)
    by_id = {activity.id: activity for activity in activities}
    highlights = [by_id[i] for i in dict.fromkeys(report.highlight_activity_ids or []) if i in by_id]
    return UnitReportData(
        campaign=campaign, unit=unit, report=report, activities=activities,
        figures=compute_figures(campaign, activities),
        # 二、 lists the unit's own entries by task; those below are summed per unit after them.
        groups=by_group_and_task(campaign, sections[0].activities if len(sections) > 1 else activities),
        highlights=highlights,
        updated_at=latest_update(report.updated_at, campaign.loaded_at, *activity_moments(activities)),
        sections=sections, addressee=addressee_of(campaign, unit), upward=is_root(campaign, unit),
        annex=annex_rows(campaign) if is_root(campaign, unit) else [],
    )


def opening_paragraph(campaign: Campaign, unit: Unit, figures: Figures) -> str:
    """The prefilled first paragraph of 一、基本情况, written from the figures: a unit follows the
    notice as its addressee forwarded it; the root issued it."""
    unit = shown_unit(campaign, unit)
    if is_root(campaign, unit):
        start = f"{format_date_cn(campaign.issued_on)}，{unit.name}印发《关于开展{campaign.title}的通知》，"
    else:
        start = f"按照{addressee_of(campaign, unit)}《关于开展{campaign.title}的通知》要求，{unit.name}"
    text = (f"{start}围绕“{campaign.theme}”主题，于{campaign_period(campaign)}组织开展了“质量月”活动。"
            f"活动期间，共组织开展各类活动{figures.count}项，参与{figures.participants}人次")
    kinds = figures.kinds_with_entries
    if kinds:
        text += "，其中" + "、".join(f"{k.kind.name}{k.count}项" for k in kinds)
    return text + "。"


def figures_paragraph(figures: Figures) -> str:
    """The computed sentence printed under the opening paragraph (always current)."""
    if not figures.count:
        return "截至目前，尚无已报送的活动。"
    parts = ["按重点任务统计，" + "，".join(f"{t.task.title}{t.count}项" for t in figures.tasks_with_entries)]
    totals = figures.figure_totals
    if totals:
        parts.append("主要工作量：" + "，".join(figure.text for figure in totals))
    rates = figures.rates
    if rates:
        parts.append("，".join(rate.text for rate in rates))
    return "；".join(parts) + "。"


def rollup_paragraph(data: UnitReportData) -> str:
    """本级 and the units below, summed: printed after the figures when the report covers a subtree."""
    own, below = data.own_section, data.below_sections
    reported = [section for section in below if section.count]
    text = (f"其中，本级开展活动{own.count}项，参与{own.participants}人次；"
            f"所辖{len(below)}个单位已采纳活动{sum(s.count for s in below)}项，"
            f"参与{sum(s.participants for s in below)}人次")
    if reported:
        text += "（" + "，".join(f"{s.label}{s.count}项" for s in reported) + "）"
    return text + "。"


# The province roll-up ---------------------------------------------------------------

class SubmissionStatus:
    ON_TIME = "on_time"
    LATE = "late"
    PENDING = "pending"
    MISSING = "missing"

    LABELS = {ON_TIME: "按时报送", LATE: "逾期报送", PENDING: "未报送", MISSING: "逾期未报送"}
    # The board's statuses in the roll-up's four: before its due time a report is simply not in yet.
    OF_BOARD = {ReportStatus.NOT_STARTED: PENDING, ReportStatus.DRAFT: PENDING, ReportStatus.ON_TIME: ON_TIME,
                ReportStatus.LATE: LATE, ReportStatus.MISSING: MISSING}


def report_standing(report: UnitReport, campaign: Campaign, now: datetime | None = None) -> ReportStanding:
    """Where the report stands, by the board's rule (deadlines.judge_report): late after the
    campaign's due time, marked 补报 when it came in while the unit was reopened."""
    unit_id = report.unit.id  # an unsaved draft (what the province sees before one exists) has no unit_id yet
    return report_standings(campaign, now, unit_id=unit_id)[unit_id]


def submission_status(report: UnitReport, campaign: Campaign, now: datetime | None = None) -> str:
    """on_time / late / pending / missing: the code the audit trail and the page styles use."""
    return SubmissionStatus.OF_BOARD[report_standing(report, campaign, now).status]


def submission_label(standing: ReportStanding) -> str:
    """The roll-up's wording, with the 补报 mark: 逾期报送（补报）, 未报送（补报中）."""
    return standing.label_with(SubmissionStatus.LABELS[SubmissionStatus.OF_BOARD[standing.status]])


@dataclass
class UnitRow:
    unit: Unit | PlacedUnit
    report: UnitReport | None
    standing: ReportStanding
    task_counts: list[int]
    count: int
    participants: int

    @property
    def status(self) -> str:
        return SubmissionStatus.OF_BOARD[self.standing.status]

    @property
    def status_label(self) -> str:
        return submission_label(self.standing)


@dataclass
class ProvinceData:
    campaign: Campaign
    rows: list[UnitRow]
    figures: Figures
    city_counts: list[tuple[str, int]]
    highlights: list[Activity]
    updated_at: datetime
    deadline_passed: bool
    # A past campaign's unit names of its own tree, by unit id (see `unit_name`).
    names: dict[int, str] = field(default_factory=dict)

    def unit_name(self, activity: Activity) -> str:
        """The name of an entry's unit as the campaign's tree had it."""
        return self.names.get(activity.unit_id) or activity.unit.name

    @property
    def status_counts(self) -> dict[str, int]:
        counts = Counter(row.status for row in self.rows)
        return {status: counts.get(status, 0) for status in SubmissionStatus.LABELS}

    @property
    def photos(self) -> list[Photo]:
        return [photo for activity in self.highlights for photo in activity.photos[:HIGHLIGHT_PHOTOS]]

    @property
    def title(self) -> str:
        return f"{self.campaign.title}汇总报告"


def _in_roll_up_order(campaign: Campaign, units: list, activities: list[Activity]) -> list[Activity]:
    """The activities in the roll-up's order: the root's own first, then by the addressed unit at or
    above each one's as that campaign's tree ranks them (a county's under its city), then by date.
    A unit's position alone ranked a county among the cities, and today's tree a past campaign."""
    rank = {unit.id: number for number, unit in enumerate(units, start=1)}
    paths = frozen_paths(campaign.id, {activity.unit_id for activity in activities})
    root_path = f"/{campaign.root_unit_id}/"  # the root's path never changes (qmonth/units.py)

    def key(activity: Activity):
        addressed = _child_on_path(root_path, paths.get(activity.unit_id) or activity.unit.path or "")
        return rank.get(addressed, 0 if addressed is None else len(rank) + 1), activity.starts_on or date.min, activity.id

    return sorted(activities, key=key)


def build_province(campaign: Campaign, now: datetime | None = None) -> ProvinceData:
    now = now or utcnow()
    units = campaign_addressed_units(campaign)
    reports = {report.unit_id: report for report in db.session.scalars(
        select(UnitReport).where(UnitReport.campaign_id == campaign.id))}
    standings = report_standings(campaign, now)
    activities = counted_activities(campaign)
    tasks = list(campaign.tasks)
    per_unit: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        per_unit[activity.unit_id].append(activity)
    rows = []
    city_counts: Counter = Counter()
    cities: list[str] = []
    for unit in units:
        entries = per_unit.get(unit.id, [])
        task_counter = Counter(task.id for activity in entries for task in activity.tasks)
        rows.append(UnitRow(
            unit=unit, report=reports.get(unit.id), standing=standings[unit.id],
            task_counts=[task_counter.get(task.id, 0) for task in tasks],
            count=len(entries), participants=sum(a.participants or 0 for a in entries),
        ))
        if unit.city not in cities:
            cities.append(unit.city)
        city_counts[unit.city] += len(entries)
    highlights = _in_roll_up_order(
        campaign, units, [a for a in activities if a.is_highlight and a.state is ActivityState.ACCEPTED])
    return ProvinceData(
        campaign=campaign, rows=rows, figures=compute_figures(campaign, activities),
        city_counts=[(city, city_counts[city]) for city in cities],
        highlights=highlights,
        updated_at=latest_update(campaign.loaded_at, *(r.updated_at for r in reports.values()),
                                 *activity_moments(activities)),
        deadline_passed=now > campaign.report_due_at,
        names=frozen_names(campaign.id, {activity.unit_id for activity in highlights}),
    )


# Bulletins ------------------------------------------------------------------------

def highlight_candidates(campaign: Campaign) -> list[Activity]:
    """Accepted highlights the province may put in a bulletin."""
    query = (select(Activity).where(Activity.campaign_id == campaign.id, Activity.is_highlight,
                                    Activity.state == ActivityState.ACCEPTED)
             .options(joinedload(Activity.unit), joinedload(Activity.kind), selectinload(Activity.photos))
             .order_by(Activity.starts_on.desc(), Activity.id.desc()))
    return list(db.session.scalars(query).unique())


@dataclass
class BulletinData:
    campaign: Campaign
    bulletin: Bulletin
    items: list[Activity]
    updated_at: datetime

    @property
    def photos(self) -> list[Photo]:
        return [photo for activity in self.items for photo in activity.photos[:HIGHLIGHT_PHOTOS]]

    @property
    def issued_on(self) -> date:
        return self.bulletin.issued_on or to_local(self.updated_at).date()


def build_bulletin(bulletin: Bulletin) -> BulletinData:
    """The bulletin's items in its order; entries no longer accepted are left out."""
    wanted = [int(i) for i in bulletin.activity_ids or []]
    found = {a.id: a for a in counted_activities(bulletin.campaign, ids=wanted)
             if a.state is ActivityState.ACCEPTED}
    items = [found[i] for i in dict.fromkeys(wanted) if i in found]
    return BulletinData(campaign=bulletin.campaign, bulletin=bulletin, items=items,
                        updated_at=latest_update(bulletin.updated_at, *activity_moments(items)))
