"""A level's actions on its board: reminders (催报), the due dates of the units below, and
reopening a unit (补报). The province does them for its cities, a city bureau for its counties."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import timeutil
from ..access import may_oversee
from ..audit import record
from ..extensions import db
from ..models import Campaign, Reminder, ReminderRecipient, Unit, UnitDueDate, UnitReopening, User
from ..deadlines import effective_due_at, scheduled_due_at

MESSAGE_MAX = 500
REASON_MAX = 500


class BoardError(ValueError):
    """A refused action; the message is shown to the user (Chinese)."""


# Reminders ------------------------------------------------------------------------------

def send_reminder(campaign: Campaign, *, units: list[Unit], message: str, by: User,
                  form_key: str | None = None) -> Reminder:
    """One reminder to the chosen units, once per form key; each unit's trail records it.

    A repeated POST of the same form (a double click) gets the reminder the first one sent."""
    message = (message or "").strip()
    if not message:
        raise BoardError("请填写催报内容。")
    if len(message) > MESSAGE_MAX:
        raise BoardError(f"催报内容不超过{MESSAGE_MAX}字。")
    if not units:
        raise BoardError("请至少选择一个单位。")
    sent = _reminder_with_key(form_key)
    if sent is not None:
        return sent
    reminder = Reminder(campaign_id=campaign.id, message=message, sent_by_id=by.id, sent_at=timeutil.utcnow(),
                        form_key=form_key)
    reminder.recipients = [ReminderRecipient(unit_id=unit.id, read_by=[]) for unit in units]
    try:
        # A savepoint: a concurrent twin with the same key waits on the unique index, then loses here.
        with db.session.begin_nested():
            db.session.add(reminder)
            db.session.flush()
    except IntegrityError:
        sent = _reminder_with_key(form_key)
        if sent is None:
            raise
        return sent
    for unit in units:
        record("reminder.send", actor=by, obj=reminder, unit_id=unit.id, reason=message)
    return reminder


def _reminder_with_key(form_key: str | None) -> Reminder | None:
    if not form_key:
        return None
    return db.session.scalar(select(Reminder).where(Reminder.form_key == form_key))


@dataclass
class ReceivedReminder:
    reminder: Reminder
    recipient: ReminderRecipient
    is_read: bool


def _received(user: User, campaign: Campaign):
    return (
        select(ReminderRecipient, Reminder)
        .join(Reminder, Reminder.id == ReminderRecipient.reminder_id)
        .where(ReminderRecipient.unit_id == user.unit_id, Reminder.campaign_id == campaign.id)
    )


def received_reminders(user: User, campaign: Campaign) -> list[ReceivedReminder]:
    """The reminders sent to the user's unit, newest first."""
    if user.unit_id is None:
        return []
    rows = db.session.execute(_received(user, campaign).order_by(Reminder.sent_at.desc(), Reminder.id.desc()))
    return [ReceivedReminder(reminder, recipient, user.id in (recipient.read_by or [])) for recipient, reminder in rows]


def unread_reminder_count(user: User, campaign: Campaign | None) -> int:
    """How many of the unit's reminders this user has not marked read (the badge in the navigation)."""
    if campaign is None or user.unit_id is None:
        return 0
    lists = db.session.scalars(_received(user, campaign).with_only_columns(ReminderRecipient.read_by))
    return sum(1 for read_by in lists if user.id not in (read_by or []))


def mark_read(user: User, campaign: Campaign, reminder_id: int | None = None) -> int:
    """Mark one reminder (or all) as read for this user; another unit's reminder is a 404."""
    query = _received(user, campaign).with_only_columns(ReminderRecipient.id)
    if reminder_id is not None:
        query = query.where(ReminderRecipient.reminder_id == reminder_id)
    ids = list(db.session.scalars(query))
    if reminder_id is not None and not ids:
        abort(404)
    if not ids:
        return 0
    # Two colleagues may mark the same reminder at once, and read_by is one JSON list:
    # take the write lock first (a no-op UPDATE), then read, so neither loses the other.
    db.session.execute(update(ReminderRecipient).where(ReminderRecipient.id.in_(ids))
                       .values(read_by=ReminderRecipient.read_by).execution_options(synchronize_session=False))
    marked = 0
    for recipient in db.session.scalars(select(ReminderRecipient).where(ReminderRecipient.id.in_(ids))
                                        .execution_options(populate_existing=True)):
        if user.id not in (recipient.read_by or []):
            recipient.read_by = [*(recipient.read_by or []), user.id]
            marked += 1
    return marked


def sent_reminders(campaign: Campaign, *, unit: Unit | None = None, sent_from: Unit | None = None,
                   limit: int = 50) -> list[Reminder]:
    """What was sent, newest first: optionally only to one unit, or only by one unit's people."""
    query = select(Reminder).where(Reminder.campaign_id == campaign.id)
    if unit is not None:
        query = query.where(Reminder.recipients.any(ReminderRecipient.unit_id == unit.id))
    if sent_from is not None:
        query = query.where(Reminder.sent_by.has(User.unit_id == sent_from.id))
    query = query.options(selectinload(Reminder.recipients).joinedload(ReminderRecipient.unit),
                          selectinload(Reminder.sent_by))
    return list(db.session.scalars(query.order_by(Reminder.sent_at.desc(), Reminder.id.desc()).limit(limit)))


# Reopening (补报) -----------------------------------------------------------------------

def reopen_unit(campaign: Campaign, unit: Unit, *, due_at: datetime, reason: str, by: User,
                now: datetime | None = None) -> UnitReopening:
    """Give a unit a new due time after (or ahead of) its deadline, with the reason on record:
    done by a level above it (the province for a city, the city for a county)."""
    if not may_oversee(by, unit):
        abort(403)
    now = now or timeutil.utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise BoardError("请填写补报原因。")
    if len(reason) > REASON_MAX:
        raise BoardError(f"补报原因不超过{REASON_MAX}字。")
    if due_at <= now:
        raise BoardError("新的截止时间应晚于当前时间。")
    scheduled = scheduled_due_at(unit, campaign)
    if due_at <= scheduled:
        raise BoardError(f"新的截止时间应晚于原定截止时间（{timeutil.format_local(scheduled)}）。")
    previous_due = effective_due_at(unit, campaign)
    reopening = UnitReopening(campaign_id=campaign.id, unit_id=unit.id, reason=reason, due_at=due_at,
                              created_by_id=by.id, created_at=now)
    db.session.add(reopening)
    record("unit.reopen", actor=by, obj=reopening, from_state="locked" if now > previous_due else "open",
           to_state="open", reason=reason,
           changes={"due_at": [timeutil.format_local(previous_due), timeutil.format_local(due_at)]})
    return reopening


def reopenings_of(unit: Unit, campaign: Campaign) -> list[UnitReopening]:
    return list(db.session.scalars(
        select(UnitReopening).where(UnitReopening.unit_id == unit.id, UnitReopening.campaign_id == campaign.id)
        .order_by(UnitReopening.id.desc())))


# Due dates of the units below ------------------------------------------------------------

def set_due_dates(campaign: Campaign, parent: Unit, *, due_at: datetime, by: User,
                  now: datetime | None = None) -> list[Unit]:
    """Set the report due time of every unit directly below `parent`, on or before the parent's
    own (the campaign's, or the one set for it from above); each change is on record."""
    now = now or timeutil.utcnow()
    children = list(db.session.scalars(select(Unit).where(Unit.parent_id == parent.id, Unit.retired_at.is_(None))
                                       .order_by(Unit.position, Unit.id)))
    if not children:
        raise BoardError(f"“{parent.name}”下没有下级单位。")
    if any(not may_oversee(by, child) for child in children):
        abort(403)
    own_due = scheduled_due_at(parent, campaign)
    if due_at > own_due:
        raise BoardError(f"下级单位的截止时间不能晚于{parent.name}的截止时间"
                         f"（{timeutil.format_local(own_due)}）。")
    if due_at <= now:
        raise BoardError("截止时间应晚于当前时间。")
    existing = {row.unit_id: row for row in db.session.scalars(
        select(UnitDueDate).where(UnitDueDate.campaign_id == campaign.id,
                                  UnitDueDate.unit_id.in_([child.id for child in children])))}
    for child in children:
        row = existing.get(child.id)
        before = row.due_at if row is not None else None
        if row is None:
            row = UnitDueDate(campaign_id=campaign.id, unit_id=child.id)
            db.session.add(row)
        row.due_at, row.set_by_id, row.set_at = due_at, by.id, now
        record("unit.due_date", actor=by, obj=child, unit_id=child.id,
               changes={"due_at": [timeutil.format_local(before) if before else None,
                                   timeutil.format_local(due_at)], "set_by_unit": parent.code})
    db.session.flush()
    return children
