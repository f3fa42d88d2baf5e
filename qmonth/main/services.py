"""The deadline countdown of the home page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Campaign
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


def report_countdown(campaign: Campaign, now: datetime | None = None) -> Countdown:
    now = now or utcnow()
    return Countdown(due_at=campaign.report_due_at, seconds_left=int((campaign.report_due_at - now).total_seconds()))
