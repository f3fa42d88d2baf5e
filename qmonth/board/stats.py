"""Figures for the stats page, and the charts drawn from them: reported entries per city, task, kind and day.

Counted as the roll-up counts them: submitted (已报送) and accepted (已采纳) entries.
Each figure keeps the two states apart, so every number links to an exact list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select

from ..charts import Chart, activities_per_city, activities_per_kind, activities_per_task, bar_chart, column_chart
from ..extensions import db
from ..models import Activity, ActivityState, Campaign, Unit, activity_task
from .rows import COUNTED_STATES


@dataclass
class StatRow:
    """One bar: its label, the activity-list filter that shows its entries, and the numbers."""

    label: str
    args: dict
    submitted: int = 0
    accepted: int = 0
    participants: int = 0

    @property
    def total(self) -> int:
        return self.submitted + self.accepted


@dataclass
class Stats:
    campaign: Campaign
    by_city: list[StatRow]
    by_task: list[StatRow]
    by_kind: list[StatRow]
    by_day: list[StatRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.by_city)

    @property
    def participants(self) -> int:
        return sum(row.participants for row in self.by_city)


def _counted_in(campaign: Campaign):
    return and_(Activity.campaign_id == campaign.id, Activity.state.in_(COUNTED_STATES))


def _by_unit_and_kind(campaign: Campaign) -> list[tuple]:
    """(unit id, kind id, submitted, accepted, participants) over the counted entries.

    One pass over the table for both the city and the kind figures, grouped by plain
    values (`+ 0` keeps SQLite reading rows in turn instead of walking an index in
    random order); names are looked up afterwards.
    """
    unit_id, kind_id = (Activity.unit_id + 0).label("unit"), (Activity.kind_id + 0).label("kind")
    query = (
        select(
            unit_id, kind_id,
            func.count(Activity.id).filter(Activity.state == ActivityState.SUBMITTED),
            func.count(Activity.id).filter(Activity.state == ActivityState.ACCEPTED),
            func.coalesce(func.sum(Activity.participants), 0),
        )
        .where(_counted_in(campaign))
        .group_by(unit_id, kind_id)
    )
    return list(db.session.execute(query))


def _add(row: StatRow, submitted: int, accepted: int, participants: int) -> None:
    row.submitted += submitted
    row.accepted += accepted
    row.participants += participants


def _city_and_kind_rows(campaign: Campaign) -> tuple[list[StatRow], list[StatRow]]:
    cities: dict[str, StatRow] = {}
    city_of = {}
    for unit in db.session.scalars(select(Unit).order_by(Unit.depth, Unit.position)):
        if unit.parent_id is not None:  # the cities of the units; the root's own (省直) only once it has entries
            cities.setdefault(unit.city, StatRow(unit.city, {"city": unit.city}))
        city_of[unit.id] = unit.city
    kinds = {kind.id: StatRow(kind.name, {"kind": kind.code}) for kind in campaign.kinds}
    for unit_id, kind_id, *figures in _by_unit_and_kind(campaign):
        city = city_of[unit_id]
        _add(cities.setdefault(city, StatRow(city, {"city": city})), *figures)
        if kind_id in kinds:
            _add(kinds[kind_id], *figures)
    return list(cities.values()), list(kinds.values())


def _task_rows(campaign: Campaign) -> list[StatRow]:
    """An entry serving several tasks counts for each of them."""
    query = (
        select(
            activity_task.c.task_id,
            func.count(Activity.id).filter(Activity.state == ActivityState.SUBMITTED),
            func.count(Activity.id).filter(Activity.state == ActivityState.ACCEPTED),
            func.coalesce(func.sum(Activity.participants), 0),
        )
        .join(Activity, Activity.id == activity_task.c.activity_id)
        .where(_counted_in(campaign))
        .group_by(activity_task.c.task_id)
    )
    by_task = {task_id: figures for task_id, *figures in db.session.execute(query)}
    return [StatRow(f"{task.number}. {task.title}", {"task": task.number}, *by_task.get(task.id, (0, 0, 0)))
            for task in campaign.tasks]


def _day_rows(campaign: Campaign) -> list[StatRow]:
    """Entries under way on each day of the window (a three-day training counts on each day),
    as the activity list's date filter finds them."""
    days = [campaign.starts_on + timedelta(days=n) for n in range((campaign.ends_on - campaign.starts_on).days + 1)]
    rows = {day: StatRow(f"{day.month}月{day.day}日", {"date_from": day.isoformat(), "date_to": day.isoformat()})
            for day in days}
    spans = (
        select(Activity.starts_on, func.coalesce(Activity.ends_on, Activity.starts_on), Activity.state,
               func.count(Activity.id))
        .where(_counted_in(campaign), Activity.starts_on.is_not(None))
        .group_by(Activity.starts_on, func.coalesce(Activity.ends_on, Activity.starts_on), Activity.state)
    )
    for starts_on, ends_on, state, count in db.session.execute(spans):
        day: date = max(starts_on, campaign.starts_on)
        while day <= min(ends_on, campaign.ends_on):
            row = rows[day]
            if state is ActivityState.SUBMITTED:
                row.submitted += count
            else:
                row.accepted += count
            day += timedelta(days=1)
    return list(rows.values())


def campaign_stats(campaign: Campaign) -> Stats:
    by_city, by_kind = _city_and_kind_rows(campaign)
    return Stats(campaign=campaign, by_city=by_city, by_task=_task_rows(campaign), by_kind=by_kind,
                 by_day=_day_rows(campaign))


@dataclass
class ChartPanel:
    """A chart and the rows it was drawn from, for the table of numbers beside it."""

    chart: Chart
    rows: list[StatRow]
    with_participants: bool = True


def stats_charts(stats: Stats) -> list[ChartPanel]:
    def pairs(rows, attribute="total"):
        return [(row.label, getattr(row, attribute)) for row in rows]

    day_description = ("每日正在开展的活动数量（跨多日的活动每天各计一次）："
                       + "；".join(f"{row.label}{row.total}项" for row in stats.by_day))
    return [
        ChartPanel(activities_per_city(pairs(stats.by_city)), stats.by_city),
        ChartPanel(bar_chart("各市参与人次", pairs(stats.by_city, "participants"), unit="人次",
                             chart_id="chart-city-people"), stats.by_city),
        ChartPanel(activities_per_task(pairs(stats.by_task)), stats.by_task),
        ChartPanel(activities_per_kind(pairs(stats.by_kind)), stats.by_kind),
        # Participants are not split by day: a three-day activity's people would count three times.
        ChartPanel(column_chart(f"{stats.campaign.starts_on.month}月每日开展活动数量", pairs(stats.by_day),
                                chart_id="chart-day", description=day_description),
                   stats.by_day, with_participants=False),
    ]
