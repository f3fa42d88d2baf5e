"""The audit log for the province: who did what, when and why, filtered and paged.

The page sits with the administration pages, so its route hangs on the admin blueprint (whose login
check covers it): its URL (/admin/audit) and endpoint name (admin.audit), which templates, tests and
recorded audit rows name, stay as they were.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import request
from flask_login import current_user
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from ..access import require_province
from ..admin import bp as admin_bp
from ..extensions import db
from ..htmx import render
from ..models import AuditEvent, Unit, User
from ..paging import Page, page_number
from ..parsing import DateError, positive_int, typed_day
from ..textnorm import search_text
from ..timeutil import LOCAL_TZ, to_local, utcnow
from .units import past_unit_names
from .labels import ACTION_LABELS, OBJECT_LABELS, action_label, change_lines, state_label

PAGE_SIZE = 50


DATE_LABELS = {"date_from": "起始日期", "date_to": "截止日期"}


def audit_window() -> tuple[date, date]:
    """Dates the viewer accepts: the app's own years, from 2000 to the end of next year (Beijing time).

    A date past either end can match nothing, and 0001-01-01 or 9999-12-31 would overflow
    when turned into a moment with a time zone.
    """
    return date(2000, 1, 1), date(to_local(utcnow()).year + 1, 12, 31)


@dataclass(frozen=True)
class AuditFilters:
    """Filters from the URL; unknown values are dropped, a bad date is a field error (the filter is not applied)."""

    unit: Unit | None = None
    username: str = ""
    user: User | None = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    typed: dict[str, str] = field(default_factory=dict)  # the dates as typed, shown back with their errors
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args) -> AuditFilters:
        unit = db.session.scalar(select(Unit).where(Unit.code == args.get("unit", ""))) if args.get("unit") else None
        username = search_text(args.get("user"), 60)
        user = (db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
                if username else None)
        action = args.get("action", "")
        days, typed, errors = {}, {}, {}
        for name, label in DATE_LABELS.items():
            typed[name] = search_text(args.get(name), 40)
            try:
                days[name] = typed_day(typed[name], label, *audit_window())
            except DateError as error:
                days[name], errors[name] = None, str(error)
        date_from, date_to = days["date_from"], days["date_to"]
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        return cls(unit=unit, username=username, user=user, action=action if action in ACTION_LABELS else "",
                   date_from=date_from, date_to=date_to, page=positive_int(args.get("page")) or 1,
                   typed=typed, errors=errors)

    def to_args(self, **changes) -> dict:
        values = {
            "unit": self.unit.code if self.unit else "", "user": self.username, "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None)}

    def query(self) -> Select:
        query = select(AuditEvent)
        if self.unit is not None:
            query = query.where(AuditEvent.unit_id == self.unit.id)
        if self.username:
            if self.user is None:
                return query.where(False)
            # A failed login has no actor; it names the account it tried.
            query = query.where(or_(AuditEvent.actor_id == self.user.id, and_(
                AuditEvent.action == "auth.login_failed", AuditEvent.object_type == "user",
                AuditEvent.object_id == self.user.id)))
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.date_from:
            query = query.where(AuditEvent.at >= datetime.combine(self.date_from, time.min, LOCAL_TZ))
        if self.date_to:
            query = query.where(AuditEvent.at < datetime.combine(self.date_to + timedelta(days=1), time.min, LOCAL_TZ))
        return query


@admin_bp.get("/audit")
def audit():
    """The audit trail, newest first (province only)."""
    require_province(current_user)
    filters = AuditFilters.from_args(request.args)
    query = filters.query()
    total = db.session.scalar(query.with_only_columns(func.count(AuditEvent.id)).order_by(None))
    page = Page(items=[], number=page_number(filters.page, total, PAGE_SIZE), total=total, size=PAGE_SIZE)
    page.items = list(db.session.scalars(
        query.options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(page.size).offset(page.offset)))
    units = list(db.session.scalars(select(Unit).order_by(Unit.position)))
    return render(
        "audit/log.html", filters=filters, page=page,
        units=units, units_by_id={unit.id: unit for unit in units}, past_names=past_unit_names(page.items),
        action_labels=ACTION_LABELS,
        action_label=action_label, state_label=state_label, change_lines=change_lines, object_labels=OBJECT_LABELS,
        status=422 if filters.errors else 200,
    )
