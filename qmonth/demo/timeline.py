"""When demo things happen: workdays, office hours, and each entry's history cut at "now"."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from ..models import ActivityState, Campaign
from ..timeutil import LOCAL_TZ
from .content import DemoContent

DRAFT, SUBMITTED, ACCEPTED, RETURNED = (ActivityState.DRAFT, ActivityState.SUBMITTED, ActivityState.ACCEPTED,
                                        ActivityState.RETURNED)
REVIEWS = ("activity.accept", "activity.return")


class Calendar:
    """Workdays (the data file's holidays and make-up days) and office hours, in Asia/Shanghai."""

    def __init__(self, content: DemoContent, last_review_day: date):
        self.holidays = content.holidays
        self.makeup_workdays = content.makeup_workdays
        self.last_review_day = last_review_day  # the province reviews until about then

    def is_workday(self, day: date) -> bool:
        return day in self.makeup_workdays or (day.weekday() < 5 and day not in self.holidays)

    def workday_on_or_after(self, day: date) -> date:
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def workday_before(self, day: date) -> date:
        day -= timedelta(days=1)
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def dates(self, rng: random.Random, campaign: Campaign, durations: tuple[int, ...]) -> tuple[date, date]:
        """Start and end inside the campaign window, starting on a workday."""
        first, last = campaign.starts_on, campaign.ends_on
        days = rng.choice(durations)
        if days > (last - first).days:
            return first, last
        last_start = last - timedelta(days=days - 1)
        starts = [first + timedelta(days=n) for n in range((last_start - first).days + 1)]
        starts_on = rng.choice([day for day in starts if self.is_workday(day)] or starts)
        return starts_on, starts_on + timedelta(days=days - 1)

    def office_time(self, rng: random.Random, day: date) -> datetime:
        """A moment in office hours, Asia/Shanghai, returned in UTC as stored."""
        minute = rng.randint(8 * 60 + 30, 17 * 60 + 50)
        local = datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), LOCAL_TZ)
        return local.astimezone(timezone.utc)

    def later(self, rng: random.Random, moment: datetime, workdays: int) -> datetime:
        """The same day if office hours allow (workdays=0), else some workdays on, not long past the reviews."""
        soon = moment + timedelta(minutes=rng.randint(5, 150))
        today = moment.astimezone(LOCAL_TZ).date()
        day = today
        for _ in range(workdays):
            day = self.workday_on_or_after(day + timedelta(days=1))
        if workdays == 0 and soon.astimezone(LOCAL_TZ).time() > time(18, 0):
            day = self.workday_on_or_after(today + timedelta(days=1))
        day = min(day, max(self.last_review_day, today))
        return self.office_time(rng, day) if day > today else soon

    def moment_before(self, rng: random.Random, now: datetime) -> datetime:
        """An office moment on the last workday before `now`'s day."""
        return self.office_time(rng, self.workday_before(now.astimezone(LOCAL_TZ).date()))


@dataclass
class Trail:
    """An entry's history up to now: audit events and the timestamps the row keeps."""

    events: list[dict] = field(default_factory=list)
    state: ActivityState = DRAFT
    created_at: datetime | None = None
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    return_reason: str = ""
    is_highlight: bool = False

    def add(self, action: str, at: datetime, actor: int, from_state, to_state, reason: str = "") -> None:
        self.events.append({
            "at": at, "actor_id": actor, "action": action, "object_type": "activity",
            "from_state": from_state.value if from_state else None, "to_state": to_state.value,
            "reason": reason, "changes": {},
        })

    def until(self, now: datetime) -> Trail:
        """The same history as it stood at `now`: later events dropped, the row's fields redone."""
        cut = Trail(events=[event for event in self.events if event["at"] <= now])
        for event in cut.events:
            action = event["action"]
            if action == "activity.create":
                cut.created_at = event["at"]
            elif action.endswith("submit"):  # a resubmitted entry awaits a new review
                cut.submitted_at, cut.reviewed_at, cut.return_reason = event["at"], None, ""
            elif action in REVIEWS:
                cut.reviewed_at, cut.return_reason = event["at"], event["reason"]
            elif action == "activity.highlight":
                cut.is_highlight = True
            cut.state = ActivityState(event["to_state"])
            cut.updated_at = event["at"]
        return cut


def activity_trail(rng: random.Random, catalogue, final_state: ActivityState, starts_on: date, ends_on: date,
                   *, author: int) -> Trail:
    """Create → submit → (return → resubmit →) accept or return, and maybe a highlight; cut at now.

    The whole life is drawn first, so that an entry's history does not depend on the
    clock; what has not happened by now is dropped. An entry not even registered by
    then was registered ahead, from the plan: a draft created before now.
    """
    content, calendar, province, now = catalogue.content, catalogue.calendar, catalogue.province_id, catalogue.now
    announced = catalogue.campaign.starts_on - timedelta(days=3)
    life = Trail()
    if rng.random() < content.registered_ahead_share:
        created_day = max(starts_on - timedelta(days=rng.randint(1, 6)), announced)
    else:
        created_day = ends_on + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 4)))
    moment = calendar.office_time(rng, calendar.workday_on_or_after(created_day))
    life.add("activity.create", moment, author, None, DRAFT)
    ahead_of_now = calendar.moment_before(rng, now)
    if final_state is not DRAFT:
        moment = calendar.later(rng, moment, rng.choice((0, 0, 0, 1, 2)))
        if moment.astimezone(LOCAL_TZ).date() <= ends_on:  # registered ahead: submitted once it was held
            moment = calendar.office_time(rng, calendar.workday_on_or_after(ends_on + timedelta(days=1)))
        life.add("activity.submit", moment, author, DRAFT, SUBMITTED)
        round_trip = final_state is ACCEPTED and rng.random() < content.resubmitted_share
        if round_trip or final_state is RETURNED:
            moment = calendar.later(rng, moment, rng.randint(1, 6))
            life.add("activity.return", moment, province, SUBMITTED, RETURNED, rng.choice(content.return_reasons))
        if round_trip:
            moment = calendar.later(rng, moment, rng.randint(0, 3))
            life.add("activity.resubmit", moment, author, RETURNED, SUBMITTED)
        if final_state is ACCEPTED:
            moment = calendar.later(rng, moment, rng.randint(1, 8))
            life.add("activity.accept", moment, province, SUBMITTED, ACCEPTED)
            if rng.random() < content.highlight_share:
                life.add("activity.highlight", calendar.later(rng, moment, rng.randint(0, 3)), province,
                         ACCEPTED, ACCEPTED)
    trail = life.until(now)
    if not trail.events:
        trail.add("activity.create", ahead_of_now, author, None, DRAFT)
        trail.created_at = trail.updated_at = ahead_of_now
    return trail
