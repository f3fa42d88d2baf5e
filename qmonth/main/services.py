"""The active campaign and the deadline countdown."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import g
from sqlalchemy import select

from ..extensions import db
from ..models import Campaign
from ..timeutil import utcnow


def active_campaign() -> Campaign | None:
    """The campaign users work in (cached for the request)."""
    if "active_campaign" not in g:
        g.active_campaign = db.session.scalar(
            select(Campaign).where(Campaign.is_active).order_by(Campaign.year.desc())
        ) or db.session.scalar(select(Campaign).order_by(Campaign.year.desc()))
    return g.active_campaign


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
