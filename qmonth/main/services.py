"""The deadline countdown of the home page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..deadlines import effective_due_at
from ..models import Campaign, User
from ..timeutil import utcnow


@dataclass
class Countdown:
    due_at: datetime
    seconds_left: int

    @property
    def is_past(self) -> bool:
        return self.seconds_left < 0

    @property
    def days(self) -> int:
        return abs(self.seconds_left) // 86400

    @property
    def hours(self) -> int:
        return abs(self.seconds_left) % 86400 // 3600

    @property
    def minutes(self) -> int:
        return abs(self.seconds_left) % 3600 // 60


def report_countdown(campaign: Campaign, now: datetime | None = None, *, unit_id: int | None = None) -> Countdown:
    """Time left to the report due time: the unit's own (a date its parent set, or a reopening's)
    for a unit's people, the campaign's otherwise."""
    now = now or utcnow()
    due_at = effective_due_at(unit_id, campaign) if unit_id is not None else campaign.report_due_at
    return Countdown(due_at=due_at, seconds_left=int((due_at - now).total_seconds()))


def report_recipient(user: User, campaign: Campaign) -> str:
    """Whom the user's unit sends its summary report to: the unit above it (a county bureau's city
    bureau), or the campaign's addressee for the units the notice addresses and for the root."""
    unit = user.unit
    if unit is None or unit.parent is None or unit.parent_id == campaign.root_unit_id:
        return campaign.report_addressee
    return unit.parent.name
