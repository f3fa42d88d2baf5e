"""The audit trail: one helper writes every record (`record`); the viewer, its labels and the
refused-access hook are the other modules of this package."""
from __future__ import annotations

from ..extensions import db
from ..models import AuditEvent, User


def record(
    action: str,
    *,
    actor: User | None,
    obj=None,
    unit_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    changes: dict | None = None,
    at=None,
) -> AuditEvent:
    """Add an audit record to the session; the caller's commit makes it durable with the change."""
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        unit_id=unit_id if unit_id is not None else getattr(obj, "unit_id", None),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        changes=changes or {},
    )
    if at is not None:  # a moment other than now: demo data dated to its own clock
        event.at = at
    db.session.add(event)
    return event
