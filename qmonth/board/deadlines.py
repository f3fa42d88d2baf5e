"""Report deadlines: the due time each unit works to, and the lock after it.

A unit's due time is the campaign's report_due_at, or the due time of its latest
reopening (补报). After it the unit's activities, photos and report are read-only.
One before_request hook enforces that for every write, so no view can forget it.

The clock is read as `timeutil.utcnow()` (a module attribute): the demo clock moves it, and so can tests.
"""
from __future__ import annotations

from datetime import datetime

from flask import flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from .. import timeutil
from ..extensions import db
from ..main.services import active_campaign
from ..models import Campaign, Unit, UnitReopening

LOCKED_MESSAGE = "本单位报送已截止。如需补报，请联系省厅。"

# Endpoints a locked unit may not write to; every POST of the photos and reports
# blueprints is a write too. activities.check_field only validates a field: allowed.
LOCKED_ENDPOINTS = frozenset({
    "activities.new", "activities.quick", "activities.edit", "activities.submit", "activities.delete",
})
LOCKED_PREFIXES = ("photos.", "reports.")
# Form pages: on GET a locked unit is sent back to what it may still read, with the notice.
FORM_PAGES = {
    "activities.new": "list", "activities.quick": "list",
    "activities.edit": "detail", "activities.delete": "detail",
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unit_id(unit: Unit | int) -> int:
    return unit if isinstance(unit, int) else unit.id


def latest_reopening(unit: Unit | int, campaign: Campaign) -> UnitReopening | None:
    """The unit's most recent reopening in this campaign: it sets the due time in force."""
    return db.session.scalar(
        select(UnitReopening)
        .where(UnitReopening.unit_id == _unit_id(unit), UnitReopening.campaign_id == campaign.id)
        .order_by(UnitReopening.id.desc()).limit(1))


def due_at_with(campaign: Campaign, reopening_due_at: datetime | None) -> datetime:
    """The due time given the latest reopening's (for callers that loaded it in bulk)."""
    return reopening_due_at if reopening_due_at is not None else campaign.report_due_at


def effective_due_at(unit: Unit | int, campaign: Campaign) -> datetime:
    """The campaign's due time, or the unit's latest reopening's if the province reopened it."""
    reopening = latest_reopening(unit, campaign)
    return due_at_with(campaign, reopening.due_at if reopening else None)


def is_locked(unit: Unit | int, campaign: Campaign, now: datetime | None = None) -> bool:
    """True once the unit's due time has passed: its entries and report are read-only."""
    now = now or timeutil.utcnow()
    return now > effective_due_at(unit, campaign)


def submitted_on_time(unit: Unit | int, campaign: Campaign, submitted_at: datetime) -> bool:
    """A report is on time when it came in by the campaign's due time, or while a
    reopening was open (created before it, due after it). The board judges the same way."""
    if submitted_at <= campaign.report_due_at:
        return True
    return db.session.scalar(
        select(UnitReopening.id).where(
            UnitReopening.unit_id == _unit_id(unit), UnitReopening.campaign_id == campaign.id,
            UnitReopening.created_at <= submitted_at, UnitReopening.due_at >= submitted_at).limit(1)
    ) is not None


def _is_guarded(endpoint: str) -> bool:
    return endpoint in LOCKED_ENDPOINTS or endpoint.startswith(LOCKED_PREFIXES)


def _unit_is_locked_now(unit_id: int) -> bool:
    campaign = active_campaign()
    return campaign is not None and is_locked(unit_id, campaign)


def locked_error() -> Forbidden:
    """A 403 whose page (or htmx alert) says why, and which the audit log records as a deadline refusal."""
    g.access_denied_reason = "deadline"
    error = Forbidden()
    error.qmonth_message = LOCKED_MESSAGE
    return error


def refuse_writes_after_deadline():
    """before_request: a bureau user of a locked unit reads, but does not write."""
    endpoint = request.endpoint or ""
    if not _is_guarded(endpoint):
        return None
    if not current_user.is_authenticated or current_user.unit_id is None:
        return None  # the province is never locked; anonymous requests meet login first
    if request.method in READ_METHODS and endpoint not in FORM_PAGES:
        return None
    if not _unit_is_locked_now(current_user.unit_id):
        return None
    if request.method in READ_METHODS:
        flash(LOCKED_MESSAGE, "warning")
        activity_id = (request.view_args or {}).get("activity_id")
        if FORM_PAGES[endpoint] == "detail" and activity_id is not None:
            return redirect(url_for("activities.detail", activity_id=activity_id))
        return redirect(url_for("activities.index"))
    if request.headers.get("X-Requested-With") == "qmonth-upload":
        g.access_denied_reason = "deadline"
        return jsonify(ok=False, error=LOCKED_MESSAGE), 403
    raise locked_error()


def refuse_login_into_locked_unit(_sender, user, **_extra):
    """user_logged_in: the activity form signs an expired session back in and saves at once,
    which the before_request hook saw as anonymous; refuse the save there instead."""
    if not has_request_context() or request.method in READ_METHODS:
        return
    if _is_guarded(request.endpoint or "") and user.unit_id is not None and _unit_is_locked_now(user.unit_id):
        raise locked_error()
