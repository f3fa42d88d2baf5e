"""Figures for the stats page: reported entries per city, task, kind and day.

Counted as the roll-up counts them: submitted (已报送) and accepted (已采纳) entries.
Each figure keeps the two states apart, so every number links to an exact list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select

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
    for unit in db.session.scalars(select(Unit).order_by(Unit.position)):
        cities.setdefault(unit.city, StatRow(unit.city, {"city": unit.city}))
        city_of[unit.id] = unit.city
    kinds = {kind.id: StatRow(kind.name, {"kind": kind.code}) for kind in campaign.kinds}
    for unit_id, kind_id, *figures in _by_unit_and_kind(campaign):
        _add(cities[city_of[unit_id]], *figures)
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
