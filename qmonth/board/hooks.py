"""App-wide hooks of the board feature, registered once from create_app:

- the deadline lock (before_request, and the re-login path of the activity form);
- an audit record for a refused request (403) of a signed-in user, once per path and hour;
- the reminder badge and the unit's board row for templates.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request, url_for
from flask_login import current_user, user_logged_in
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..campaigns.services import active_campaign
from ..models import ActivityState, AuditEvent
from ..securitylog import security_event
from ..timeutil import utcnow
from ..deadlines import LOCKED_MESSAGE, refuse_login_into_locked_unit, refuse_writes_after_deadline
from .rows import build_board
from .services import unread_reminder_count

PATH_MAX = 300
# A refused request is in the security log every time; the audit trail, which people read,
# keeps the first of each user's method and path per hour, and at most so many a user per hour
# (a script probing paths must not flood it, nor make each check read more rows).
DENIED_AUDIT_WINDOW = timedelta(hours=1)
DENIED_AUDIT_MAX_PER_USER = 100


def register(app: Flask) -> None:
    app.before_request(refuse_writes_after_deadline)
    app.after_request(record_refused_access)
    user_logged_in.connect(refuse_login_into_locked_unit, app)
    app.context_processor(board_helpers)


def record_refused_access(response):
    """after_request: a 403 a signed-in user meets goes into the security log, and into the audit
    trail unless it is a repeat within the hour (see DENIED_AUDIT_WINDOW)."""
    if response.status_code != 403 or request.endpoint == "static" or not current_user.is_authenticated:
        return response
    try:
        user = current_user._get_current_object()
        unit_id = user.unit_id
        # The request was refused: nothing it left in the session may ride along with the record.
        db.session.rollback()
        deadline = g.get("access_denied_reason") == "deadline"
        security_event("access.denied", reason="deadline" if deadline else "forbidden")
        if _denied_recently(user):
            return response
        record("access.denied", actor=user, unit_id=unit_id, reason=LOCKED_MESSAGE if deadline else "",
               changes={"method": request.method, "path": request.full_path.rstrip("?")[:PATH_MAX],
                        "endpoint": request.endpoint or ""})
        db.session.commit()
    except Exception:  # the audit must never turn a refusal into a server error
        db.session.rollback()
        current_app.logger.exception("could not record a refused request")
    return response


def _denied_recently(user) -> bool:
    """Whether the audit trail already holds this refusal (same user, method and path, query aside)
    within the window, or as many of the user's refusals as it keeps per window."""
    earlier = list(db.session.scalars(
        select(AuditEvent.changes).where(AuditEvent.action == "access.denied", AuditEvent.actor_id == user.id,
                                         AuditEvent.at > utcnow() - DENIED_AUDIT_WINDOW)
        .limit(DENIED_AUDIT_MAX_PER_USER)))
    if len(earlier) >= DENIED_AUDIT_MAX_PER_USER:
        return True
    return any(changes.get("method") == request.method and changes.get("path", "").split("?")[0] == request.path
               for changes in earlier if isinstance(changes, dict))


def board_helpers() -> dict:
    """Callables, so a page pays for the queries only where the template uses them."""
    def unread_reminders() -> int:
        if not current_user.is_authenticated or current_user.unit_id is None:
            return 0
        return unread_reminder_count(current_user, active_campaign())

    def board_row_for(unit):
        campaign = active_campaign()
        if unit is None or campaign is None:
            return None
        rows = build_board(campaign, unit_id=unit.id).rows
        return rows[0] if rows else None

    def board_row_urls() -> dict:
        """What a board row links to, built once per table (url_for 44 times over costs more than
        the rest of the row): the activity list, by state too, and the unit and report pages
        without the unit's code, which ends their paths."""
        activities = url_for("activities.index")
        return {"list": activities,
                "states": [(state, f"{activities}?state={state.value}") for state in ActivityState],
                "unit": url_for("board.unit", code="__code__").removesuffix("__code__"),
                "report": url_for("reports.unit_report", code="__code__").removesuffix("__code__")}

    return {"unread_reminders": unread_reminders, "board_row_for": board_row_for, "board_row_urls": board_row_urls}
