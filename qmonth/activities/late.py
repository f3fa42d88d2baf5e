"""Entries the phone's outbox recorded before the deadline that reach the server after it.

A reporter on a site without signal records an entry on 9 October; the phone finds a network
on the 11th, after the unit's deadline. The deadline lock (qmonth.deadlines) would refuse it;
instead it is kept as a draft marked arrived_late (「截止前记录、截止后送达」), with its photos,
and the unit is told to ask the province to reopen it (补报). Nothing recorded in time is lost.

The outbox sends when it recorded the entry (`captured_at`, ISO 8601). That time comes from the
phone's clock, so it is believed only when plausible: not in the future (beyond a little clock
drift) and not before the campaign began. An entry without a plausible time is judged as any
other write after the deadline.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import request
from flask_login import current_user
from sqlalchemy import select

from .. import timeutil
from ..models import Activity, ActivityState, Campaign, PhotoUpload
from ..extensions import db
from ..timeutil import LOCAL_TZ

LATE_LABEL = "截止前记录、截止后送达"
LATE_NOTICE = ("该登记在截止前记录、截止后送达，已保存为草稿。本单位报送已截止，"
               "如需报送，请联系上级单位开放补报。")
CLOCK_DRIFT = timedelta(minutes=10)
OUTBOX_HEADER = "qmonth-upload"


def parse_captured_at(raw: str | None, campaign: Campaign, now: datetime | None = None) -> datetime | None:
    """The outbox's recording time in UTC, or None when absent, unreadable or implausible."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 40:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a time without its offset cannot be placed against the deadline
    moment = moment.astimezone(timezone.utc)
    now = now or timeutil.utcnow()
    campaign_start = datetime.combine(campaign.starts_on, time.min, tzinfo=LOCAL_TZ)
    if moment > now + CLOCK_DRIFT or moment < campaign_start:
        return None
    return moment


def late_arrival_allowed(endpoint: str, due_at: datetime, campaign: Campaign) -> bool:
    """Whether a write the deadline lock would refuse belongs to a late arrival: the outbox's new
    entry recorded by `due_at`, or a photo of such an entry (still a draft, of the user's unit)."""
    if request.headers.get("X-Requested-With") != OUTBOX_HEADER:
        return False
    if endpoint == "activities.quick":
        captured_at = parse_captured_at(request.form.get("captured_at"), campaign)
        return captured_at is not None and captured_at <= due_at
    activity_id = None
    if endpoint == "photos.create_photo_upload":
        activity_id = (request.view_args or {}).get("activity_id")
    elif endpoint == "photos.upload_chunk":
        token = (request.view_args or {}).get("token")
        activity_id = db.session.scalar(select(PhotoUpload.activity_id).where(
            PhotoUpload.token == token, PhotoUpload.user_id == current_user.id))
    if activity_id is None:
        return False
    activity = db.session.get(Activity, activity_id)
    return (activity is not None and activity.arrived_late and activity.state is ActivityState.DRAFT
            and activity.unit_id == current_user.unit_id)
