"""The audit record of a refused request (403) of a signed-in user, once per path and hour."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from ..deadlines import LOCKED_MESSAGE
from ..extensions import db
from ..models import AuditEvent
from ..securitylog import security_event
from ..timeutil import utcnow
from . import record

PATH_MAX = 300
# A refused request is in the security log every time; the audit trail, which people read,
# keeps the first of each user's method and path per hour, and at most so many a user per hour
# (a script probing paths must not flood it, nor make each check read more rows).
DENIED_AUDIT_WINDOW = timedelta(hours=1)
DENIED_AUDIT_MAX_PER_USER = 100


def register(app: Flask) -> None:
    """Register the hook once, from create_app."""
    app.after_request(record_refused_access)


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
