"""Home page, the campaign catalogue and the health check."""
from flask import jsonify
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db
from ..htmx import render
from ..jobs import broker_health
from ..storage import health as storage_health
from ..campaigns.services import active_campaign
from . import bp
from ..units import addressed_units
from .services import report_countdown, report_recipient



@bp.get("/")
@login_required
def home():
    """The campaign at a glance: theme, window, deadline countdown, slogans."""
    campaign = active_campaign()
    countdown = report_countdown(campaign, unit_id=_own_unit_id()) if campaign else None
    recipient = report_recipient(current_user, campaign) if campaign else ""
    return render("main/home.html", campaign=campaign, countdown=countdown, recipient=recipient)


def _own_unit_id() -> int | None:
    """The unit whose due time the countdown shows (the root's is the campaign's: no query)."""
    return None if current_user.is_province else current_user.unit_id


@bp.get("/countdown")
@login_required
def countdown():
    """The countdown alone, refreshed by htmx every minute."""
    campaign = active_campaign()
    return render("main/_countdown.html", "main/_countdown.html", campaign=campaign,
                  countdown=report_countdown(campaign, unit_id=_own_unit_id()) if campaign else None)


@bp.get("/campaign")
@login_required
def campaign():
    """The campaign catalogue as the notice describes it."""
    current = active_campaign()
    units = list(db.session.scalars(addressed_units(current)))
    return render("main/campaign.html", campaign=current, units=units)


@bp.get("/healthz")
def healthz():
    """200 when the database, the file store and the job broker (if one is configured) answer, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any driver error means "not healthy"
        db.session.rollback()
        database = "unavailable"
    files = storage_health()
    broker = broker_health()  # "ok", "down", or "not configured" (jobs run in this process)
    healthy = database == "ok" and files == "ok" and broker != "down"
    return jsonify(status="ok" if healthy else "error", database=database, storage=files, broker=broker), \
        200 if healthy else 503
