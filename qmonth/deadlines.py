"""Report deadlines: the due time each unit works to, the lock after it, and the report's status.

A unit's due time is the earliest one a parent set for it or for a unit above it
(`UnitDueDate`: a city bureau sets its counties', on or before its own), else the campaign's
report_due_at; or the due time of its latest reopening (补报) by a unit above it. After it the unit's activities, photos and report are read-only.
One before_request hook enforces that for every write, so no view can forget it. Its one
exception is an entry the phone's outbox recorded before the deadline that arrives after it
(and that entry's photos): kept as a marked draft for 补报 (qmonth.activities.late).

`judge_report` is the one rule for where a summary report stands (按时报送, 逾期报送
with or without the 补报 mark, …); the board, the home page, the report editor and
the province roll-up all read it, through the same columns (`add_report_columns`).

The clock is read as `timeutil.utcnow()` (a module attribute): the demo clock moves it, and so can tests.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from flask import flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Integer, and_, bindparam, exists, func, select
from sqlalchemy.orm import aliased
from werkzeug.exceptions import Forbidden

from . import timeutil
from .extensions import db
from .campaigns.services import active_campaign
from .models import Campaign, ReportState, Unit, UnitDueDate, UnitReopening, UnitReport

LOCKED_MESSAGE = "本单位报送已截止。如需补报，请联系上级单位。"

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


def _path_ids(unit: Unit) -> list[int]:
    return [int(part) for part in (unit.path or "").strip("/").split("/") if part] or [unit.id]


def scheduled_due_at(unit: Unit | int, campaign: Campaign) -> datetime:
    """The due time the unit works to before any reopening: the earliest set for it or a unit
    above it, never later than the campaign's."""
    if isinstance(unit, int):
        unit = db.session.get(Unit, unit)
    if unit is None:
        return campaign.report_due_at
    earliest = db.session.scalar(select(func.min(UnitDueDate.due_at)).where(
        UnitDueDate.campaign_id == campaign.id, UnitDueDate.unit_id.in_(_path_ids(unit))))
    return min(earliest, campaign.report_due_at) if earliest is not None else campaign.report_due_at


def scheduled_due_column(campaign_id):
    """SQL twin of `scheduled_due_at` for a query over units: the earliest due time set for the
    row's unit or one above it (whose path its own starts with); NULL for the campaign's."""
    setter = aliased(Unit, name="due_setter")
    # The setter's path looked up by its id for each of the campaign's few due dates: joined to
    # the units instead, PostgreSQL merged them in id order and read every unit of the tree for
    # each row (the nation's root board: 5,544 units x 75 rows, 39 ms).
    setter_path = select(setter.path).where(setter.id == UnitDueDate.unit_id).scalar_subquery()
    return (select(func.min(UnitDueDate.due_at))
            .where(UnitDueDate.campaign_id == campaign_id, Unit.path.like(setter_path.concat("%")))
            .scalar_subquery())


def due_at_with(campaign: Campaign, reopening_due_at: datetime | None,
                scheduled: datetime | None = None) -> datetime:
    """The due time given the latest reopening's and the scheduled one (for callers that loaded
    them in bulk)."""
    if reopening_due_at is not None:
        return reopening_due_at
    return min(scheduled, campaign.report_due_at) if scheduled is not None else campaign.report_due_at


def effective_due_at(unit: Unit | int, campaign: Campaign) -> datetime:
    """The unit's scheduled due time, or its latest reopening's if a unit above reopened it."""
    reopening = latest_reopening(unit, campaign)
    if reopening is not None:
        return reopening.due_at
    return scheduled_due_at(unit, campaign)


def is_locked(unit: Unit | int, campaign: Campaign, now: datetime | None = None) -> bool:
    """True once the unit's due time has passed: its entries and report are read-only."""
    now = now or timeutil.utcnow()
    return now > effective_due_at(unit, campaign)


class ReportStatus(enum.Enum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return REPORT_STATUS_LABELS[self]


REPORT_STATUS_LABELS = {
    ReportStatus.NOT_STARTED: "未开始",
    ReportStatus.DRAFT: "草稿",
    ReportStatus.ON_TIME: "按时报送",
    ReportStatus.LATE: "逾期报送",
    ReportStatus.MISSING: "未报送",
}
SUBMITTED_STATUSES = (ReportStatus.ON_TIME, ReportStatus.LATE)
PENDING_STATUSES = (ReportStatus.NOT_STARTED, ReportStatus.DRAFT)


@dataclass(frozen=True)
class ReportStanding:
    """Where a unit's summary report stands, and whether a reopening (补报) is part of it."""

    status: ReportStatus
    reopened: bool = False  # submitted late while reopened, or not yet in while a reopening is open

    @property
    def mark(self) -> str:
        """补报 on a report that came in under a reopening; 补报中 while the unit may still hand it in."""
        if not self.reopened:
            return ""
        return "补报" if self.status is ReportStatus.LATE else "补报中"

    def label_with(self, label: str) -> str:
        """A status label (the board's or the roll-up's wording) followed by the mark."""
        return f"{label}（{self.mark}）" if self.reopened else label

    @property
    def label(self) -> str:
        return self.label_with(self.status.label)


def judge_report(campaign: Campaign, *, report_state: ReportState | None, submitted_at: datetime | None,
                 reopened_due_at: datetime | None, submitted_while_reopened: bool, now: datetime,
                 scheduled_due_at: datetime | None = None) -> ReportStanding:
    """The one rule for a summary report's status.

    Submitted by the unit's scheduled due time (the campaign's, or an earlier one its parent
    set): 按时报送. Submitted after it: 逾期报送, whatever
    the reason; marked 补报 when it came in while a reopening was open. Not submitted:
    未开始 / 草稿 until the unit's due time (its latest reopening's, if any), 未报送 after it.
    """
    scheduled = due_at_with(campaign, None, scheduled_due_at)
    if report_state is ReportState.SUBMITTED and submitted_at is not None:
        if submitted_at <= scheduled:
            return ReportStanding(ReportStatus.ON_TIME)
        return ReportStanding(ReportStatus.LATE, reopened=submitted_while_reopened)
    if now > due_at_with(campaign, reopened_due_at, scheduled):
        return ReportStanding(ReportStatus.MISSING)
    status = ReportStatus.DRAFT if report_state is not None else ReportStatus.NOT_STARTED
    return ReportStanding(status, reopened=reopened_due_at is not None and now > scheduled)


def reopening_open_at(unit_id, campaign_id, moment):
    """SQL: whether a reopening of the unit was open at `moment` (created by then, due no earlier)."""
    window = aliased(UnitReopening, name="window")
    return exists(select(window.id).where(window.unit_id == unit_id, window.campaign_id == campaign_id,
                                          window.created_at <= moment, window.due_at >= moment))


def add_report_columns(query, campaign_id):
    """Join a query over units to each unit's report and latest reopening, adding the
    columns `standing_of` reads (and the reopening's reason and time, which the board shows)."""
    reopening = aliased(UnitReopening, name="reopening")
    latest = (select(func.max(UnitReopening.id)).where(UnitReopening.campaign_id == campaign_id)
              .group_by(UnitReopening.unit_id))
    return (
        query.add_columns(
            UnitReport.state.label("report_state"), UnitReport.submitted_at.label("submitted_at"),
            reopening_open_at(Unit.id, campaign_id, UnitReport.submitted_at).label("submitted_while_reopened"),
            reopening.due_at.label("reopened_due_at"), reopening.reason.label("reopened_reason"),
            reopening.created_at.label("reopened_at"),
            scheduled_due_column(campaign_id).label("scheduled_due_at"),
        )
        .outerjoin(UnitReport, and_(UnitReport.unit_id == Unit.id, UnitReport.campaign_id == campaign_id))
        .outerjoin(reopening, and_(reopening.unit_id == Unit.id, reopening.id.in_(latest)))
    )


def standing_of(record, campaign: Campaign, now: datetime) -> ReportStanding:
    """judge_report on a row that carries the columns of `add_report_columns`."""
    return judge_report(campaign, report_state=record.report_state, submitted_at=record.submitted_at,
                        reopened_due_at=record.reopened_due_at,
                        submitted_while_reopened=bool(record.submitted_while_reopened), now=now,
                        scheduled_due_at=record.scheduled_due_at)


_STANDINGS = add_report_columns(select(Unit.id), bindparam("campaign_id", type_=Integer))


def report_standings(campaign: Campaign, now: datetime | None = None, *,
                     unit_id: int | None = None) -> dict[int, ReportStanding]:
    """Every unit's report standing (or one unit's), by unit id, in one query."""
    now = now or timeutil.utcnow()
    query = _STANDINGS if unit_id is None else _STANDINGS.where(Unit.id == unit_id)
    return {record.id: standing_of(record, campaign, now)
            for record in db.session.execute(query, {"campaign_id": campaign.id})}


def _is_guarded(endpoint: str) -> bool:
    return endpoint in LOCKED_ENDPOINTS or endpoint.startswith(LOCKED_PREFIXES)


def _unit_is_locked_now(unit_id: int) -> bool:
    campaign = active_campaign()
    return campaign is not None and is_locked(unit_id, campaign)


def _late_arrival(endpoint: str, unit_id: int, campaign: Campaign) -> bool:
    """An entry the phone recorded before the deadline, or one of its photos: kept as a draft
    marked for 补报 rather than refused (qmonth.activities.late)."""
    from .activities.late import late_arrival_allowed

    return late_arrival_allowed(endpoint, effective_due_at(unit_id, campaign), campaign)


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
    campaign = active_campaign()
    if campaign is None or not is_locked(current_user.unit_id, campaign):
        return None
    if request.method not in READ_METHODS and _late_arrival(endpoint, current_user.unit_id, campaign):
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
