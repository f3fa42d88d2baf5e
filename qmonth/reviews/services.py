"""The review queue's query and the rule for a return reason."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..access import reviewed_units, visible_activities
from ..extensions import db
from ..models import Activity, ActivityKind, ActivityState, Campaign, Unit, User
from ..paging import Page, page_number
from ..textnorm import control_character_problem

PAGE_SIZE = 50
RETURN_REASON_MAX = 500


@dataclass
class ReviewQueue:
    page: Page  # its items: the entries shown
    counts: dict[ActivityState, int]
    units: list[Unit]


def review_queue(user: User, campaign: Campaign, state: ActivityState, *, unit_code: str, kind_code: str,
                 page: int) -> ReviewQueue:
    """One page of the entries the user's node reviews (those of the units directly below it) in
    `state`, oldest submission first, filtered by unit and kind code; with the count per state (for
    the tabs) and the units (for the filter).

    The queue is the active campaign's, plus what an earlier campaign still has waiting: a returned
    entry of last year, corrected and submitted again after the new campaign began, would otherwise
    wait in no one's queue."""
    in_queue = visible_activities(user).where(
        Activity.unit_id.in_(reviewed_units(user)),
        or_(Activity.campaign_id == campaign.id, Activity.state == ActivityState.SUBMITTED))
    query = in_queue.where(Activity.state == state)
    if unit_code:
        query = query.join(Activity.unit).where(Unit.code == unit_code)
    if kind_code:  # by code: each campaign has kinds of its own
        query = query.where(Activity.kind.has(ActivityKind.code == kind_code))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    shown = Page(items=[], number=page_number(page, total, PAGE_SIZE), total=total, size=PAGE_SIZE)
    shown.items = list(db.session.scalars(
        query.options(selectinload(Activity.unit), selectinload(Activity.kind), selectinload(Activity.tasks),
                      selectinload(Activity.campaign))
        .order_by(Activity.submitted_at.asc().nulls_last(), Activity.id)
        .limit(shown.size).offset(shown.offset)
    ))
    queued = in_queue.subquery()
    counts = dict(db.session.execute(select(queued.c.state, func.count()).group_by(queued.c.state)).all())
    counts = {ActivityState(state) if isinstance(state, str) else state: n for state, n in counts.items()}
    units = list(db.session.scalars(select(Unit).where(Unit.id.in_(reviewed_units(user)))
                                    .order_by(Unit.depth, Unit.position, Unit.id)))
    return ReviewQueue(page=shown, counts=counts, units=units)


def return_reason_problem(reason: str) -> str | None:
    """What is wrong with a return reason (Chinese, shown to the reviewer), or None."""
    if len(reason) > RETURN_REASON_MAX:
        return f"退回原因不能超过 {RETURN_REASON_MAX} 个字。"
    return control_character_problem(reason, multiline=True)
