"""Activities: every change of state (each one audited); who may see them is in qmonth.access."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from flask import abort

from ..access import may_accept, may_return, may_review, require_province
from ..units import placed_unit
from ..audit import record
from ..extensions import db
from ..models import Activity, ActivityKind, ActivityState, Campaign, Reminder, ReminderRecipient, Task, Unit, User
from ..timeutil import utcnow
from .late import LATE_LABEL


class WorkflowError(ValueError):
    """A refused transition; the message is shown to the user (Chinese)."""


class ActivityGone(WorkflowError):
    """The activity was deleted by another request after this one had read it."""


CHANGED_MEANWHILE = "该活动已被他人处理，请刷新后重试。"


def lock_activity(activity: Activity, *, done: ActivityState | None = None) -> bool:
    """Every service that changes an activity starts here: lock its row until commit, and reload it.

    The request read the row without a lock (to find it, and in the view's checks), and another
    request may have changed it since. On PostgreSQL, FOR UPDATE makes a concurrent change wait
    here until this one commits, and the reload shows what that one did; SQLite renders no
    FOR UPDATE and needs none, as writing requests begin IMMEDIATE (see create_app) and so
    run one at a time.

    Returns False when the row is already in the state `done` (a repeated click: nothing to do).
    Raises WorkflowError when its state is no longer the one this request read, ActivityGone
    when the row was deleted.
    """
    read_state = activity.state
    current = db.session.scalar(
        select(Activity).where(Activity.id == activity.id).with_for_update()
        .execution_options(populate_existing=True))
    if current is None:
        raise ActivityGone("该活动已被删除。")
    if done is not None and current.state is done:
        return False
    if current.state is not read_state:
        raise WorkflowError(CHANGED_MEANWHILE)
    return True


# Fields a user edits through the activity form. Nothing else is ever assigned from a request.
EDITABLE_FIELDS = (
    "title", "kind", "tasks", "organiser", "co_organisers", "starts_on", "ends_on",
    "county", "address", "participants", "description", "results",
    "contact_name", "contact_phone", "figures", "no_fee_declared",
)

FIELD_LABELS = {
    "title": "活动名称", "kind": "活动类型", "tasks": "重点任务", "organiser": "主办单位",
    "co_organisers": "协办单位", "starts_on": "开始日期", "ends_on": "结束日期",
    "county": "县（市、区）", "address": "详细地点", "participants": "参与人次",
    "description": "活动内容", "results": "活动成效", "contact_name": "联系人",
    "contact_phone": "联系电话", "figures": "类型指标", "no_fee_declared": "自愿参与、未收费承诺",
}


@dataclass
class ActivityData:
    """Cleaned form values (see forms.py)."""

    title: str
    kind: ActivityKind
    tasks: list[Task]
    organiser: str = ""
    co_organisers: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    county: str = ""
    address: str = ""
    participants: int | None = None
    description: str = ""
    results: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    figures: dict | None = None
    no_fee_declared: bool = False


def _comparable(value):
    if isinstance(value, list):
        return [getattr(item, "number", item) for item in value]
    if isinstance(value, ActivityKind):
        return value.name
    if isinstance(value, date):
        return value.isoformat()
    return value


def _apply(activity: Activity, data: ActivityData) -> dict:
    """Copy the editable fields; return {field: [old, new]} for the audit trail."""
    changes = {}
    for name in EDITABLE_FIELDS:
        new = getattr(data, name)
        if name == "figures":
            new = dict(new or {})
        old = getattr(activity, name)
        if _comparable(old) != _comparable(new):
            changes[name] = [_comparable(old), _comparable(new)]
            setattr(activity, name, list(new) if name == "tasks" else new)
    return changes


class ClientIdConflict(WorkflowError):
    """The phone's id for an entry already names another entry of this author (answered 409)."""


CLIENT_ID_TAKEN = "该条目编号已用于另一条内容不同的登记，未重复保存。请刷新页面后重新填写，或在活动列表中核对已保存的登记。"


def entry_hash(campaign: Campaign, data: ActivityData) -> str:
    """SHA-256 of what an entry says (its cleaned fields and campaign): a repeat hashes the same."""
    fields = {name: _comparable(getattr(data, name)) for name in EDITABLE_FIELDS}
    fields["figures"] = dict(sorted((data.figures or {}).items()))
    fields["campaign"] = campaign.id
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _earlier_entry(author: User, form_key: str | None, client_id: str | None, client_hash: str | None):
    """The entry an earlier request of this form or this client id made, or None; ClientIdConflict
    when the client id names an entry with other content."""
    if client_id:
        existing = db.session.scalar(select(Activity).where(Activity.author_id == author.id,
                                                            Activity.client_id == client_id))
        if existing is not None:
            if existing.client_hash != client_hash:
                raise ClientIdConflict(CLIENT_ID_TAKEN)
            return existing
    if form_key:
        return db.session.scalar(select(Activity).where(Activity.form_key == form_key))
    return None


def create_activity(
    *, campaign: Campaign, unit: Unit, author: User, data: ActivityData, form_key: str | None,
    client_id: str | None = None, captured_at=None, arrived_late: bool = False,
) -> tuple[Activity, bool]:
    """Create a draft, exactly once per form key and per client id (the phone's UUID for the entry,
    unique per author). Returns (activity, created); a repeat returns the first one's row, and the
    same client id with other content raises ClientIdConflict. `captured_at` is when the phone's
    outbox recorded it; `arrived_late` marks one recorded before the deadline that came after it."""
    client_hash = entry_hash(campaign, data) if client_id else None
    existing = _earlier_entry(author, form_key, client_id, client_hash)
    if existing is not None:
        return existing, False
    try:
        # A savepoint, begun before the row exists (beginning one flushes what is pending): a
        # concurrent twin with the same key loses here, not at commit.
        with db.session.begin_nested():
            activity = Activity(campaign=campaign, unit=unit, author=author, form_key=form_key,
                                client_id=client_id, client_hash=client_hash, state=ActivityState.DRAFT,
                                figures={}, captured_at=captured_at, arrived_late=arrived_late)
            _apply(activity, data)
            db.session.add(activity)
            db.session.flush()
    except IntegrityError:
        existing = _earlier_entry(author, form_key, client_id, client_hash)
        if existing is None:
            raise
        return existing, False
    record("activity.create", actor=author, obj=activity, to_state=ActivityState.DRAFT.value,
           reason=LATE_LABEL if arrived_late else "")
    return activity, True


def update_activity(activity: Activity, data: ActivityData, *, by: User) -> dict:
    """Edit a draft or a returned entry; the audit record lists the changed fields."""
    lock_activity(activity)
    if not activity.is_editable:
        raise WorkflowError(f"该活动{activity.state.label}，不能修改。")
    changes = _apply(activity, data)
    if changes:
        record("activity.edit", actor=by, obj=activity, from_state=activity.state.value,
               to_state=activity.state.value, changes=changes)
    return changes


def submission_problems(activity: Activity | ActivityData) -> dict[str, str]:
    """What is missing before an entry can be submitted: {field: Chinese message}.

    Works on a stored activity and on cleaned form data alike."""
    problems = {}
    if not activity.tasks:
        problems["tasks"] = "请至少选择一项重点任务。"
    if activity.starts_on is None:
        problems["starts_on"] = "报送前请填写开始日期。"
    if activity.ends_on is None:
        problems["ends_on"] = "报送前请填写结束日期。"
    if not activity.county:
        problems["county"] = "报送前请填写活动所在县（市、区）。"
    if activity.participants is None:
        problems["participants"] = "报送前请填写参与人次。"
    if not activity.contact_name:  # in the order the form shows the fields
        problems["contact_name"] = "报送前请填写联系人。"
    if not activity.description:
        problems["description"] = "报送前请填写活动内容。"
    if not activity.no_fee_declared:
        problems["no_fee_declared"] = "报送前须确认活动坚持自愿参与原则，未向企业摊派收费、搭车收费。"
    return problems


def problems_summary(problems: dict[str, str]) -> str:
    """One sentence naming what is missing, e.g. 「报送前请补全：活动内容、联系人。」 (no message repeated)."""
    names = [FIELD_LABELS[name] for name in problems if name != "no_fee_declared"]
    declare = "no_fee_declared" in problems
    if names and declare:
        return f"报送前请补全：{'、'.join(names)}，并勾选自愿参与、未收费承诺。"
    if declare:
        return "报送前请勾选自愿参与、未收费承诺。"
    return f"报送前请补全：{'、'.join(names)}。" if names else ""


def _transition(activity: Activity, to: ActivityState, *, by: User, action: str, reason: str = "",
                changes: dict | None = None) -> None:
    before = activity.state
    activity.state = to
    record(action, actor=by, obj=activity, from_state=before.value, to_state=to.value, reason=reason,
           changes=changes)


def submit_activity(activity: Activity, *, by: User) -> None:
    """Draft or returned → submitted, once everything required is there."""
    if not lock_activity(activity, done=ActivityState.SUBMITTED):
        return  # a repeated click: already done
    if not activity.is_editable:
        raise WorkflowError(f"该活动{activity.state.label}，不能报送。")
    problems = submission_problems(activity)
    if problems:
        raise WorkflowError(problems_summary(problems))
    activity.submitted_at = utcnow()
    action = "activity.resubmit" if activity.state is ActivityState.RETURNED else "activity.submit"
    _transition(activity, ActivityState.SUBMITTED, by=by, action=action)


def accept_activity(activity: Activity, *, by: User) -> None:
    """Submitted → accepted, by the admins of the unit's parent node only."""
    if not may_accept(by, activity):
        abort(403)
    if not lock_activity(activity, done=ActivityState.ACCEPTED):
        return
    if activity.state is not ActivityState.SUBMITTED:
        raise WorkflowError(f"只能采纳已报送的活动，该活动{activity.state.label}。")
    activity.reviewed_at = utcnow()
    activity.reviewed_by = by
    activity.return_reason = ""
    _transition(activity, ActivityState.ACCEPTED, by=by, action="activity.accept")


def return_activity(activity: Activity, *, by: User, reason: str) -> None:
    """Submitted (or accepted) → returned with a reason the unit sees: by the parent node's admins, or by
    the root's anywhere below it. A return by the root over the parent's head is recorded as the root's,
    and both the unit and its parent are told (a message on their reminders page)."""
    if not may_return(by, activity):
        abort(403)
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("退回时请填写退回原因。")
    lock_activity(activity)
    if activity.state not in (ActivityState.SUBMITTED, ActivityState.ACCEPTED):
        raise WorkflowError(f"只能退回已报送或已采纳的活动，该活动{activity.state.label}。")
    activity.reviewed_at = utcnow()
    activity.reviewed_by = by
    activity.return_reason = reason
    activity.is_highlight = False
    over_parent = not may_accept(by, activity)
    _transition(activity, ActivityState.RETURNED, by=by, action="activity.return", reason=reason,
                changes={"returned_by": by.unit.code, "over_parent": True} if over_parent else None)
    if over_parent:
        _tell_unit_and_parent(activity, by=by, reason=reason)


def _tell_unit_and_parent(activity: Activity, *, by: User, reason: str) -> None:
    """The unit and the parent that reviews it both learn that the root returned the entry (its
    name and parent as the entry's campaign had them)."""
    unit = placed_unit(activity.campaign_id, activity.unit_id)
    message = f"{by.unit.name}退回了{unit.name}的活动“{activity.title}”。退回原因：{reason}"
    reminder = Reminder(campaign_id=activity.campaign_id, message=message, sent_by_id=by.id)
    reminder.recipients = [ReminderRecipient(unit_id=unit_id)
                           for unit_id in dict.fromkeys((unit.id, unit.parent_id)) if unit_id is not None]
    db.session.add(reminder)


def set_highlight(activity: Activity, *, by: User, on: bool) -> None:
    """Mark or unmark an accepted activity for publicity (宣传推广)."""
    require_province(by)
    lock_activity(activity)
    if on and activity.state is not ActivityState.ACCEPTED:
        raise WorkflowError("只有已采纳的活动可以设为宣传推广。")
    if activity.is_highlight == on:
        return
    activity.is_highlight = on
    record("activity.highlight" if on else "activity.unhighlight", actor=by, obj=activity,
           from_state=activity.state.value, to_state=activity.state.value)


def bulk_accept(activities: list[Activity], *, by: User) -> tuple[int, list[str]]:
    """Accept every submitted entry of the list that the user may accept; returns (accepted, skipped titles)."""
    if not may_review(by):
        abort(403)
    accepted, skipped = 0, []
    for activity in activities:
        if activity.state is ActivityState.SUBMITTED and may_accept(by, activity):
            try:
                accept_activity(activity, by=by)
            except WorkflowError:  # returned by a colleague since the list was read
                skipped.append(activity.title)
                continue
            accepted += 1
        else:
            skipped.append(activity.title)
    return accepted, skipped


def delete_activity(activity: Activity, *, by: User) -> None:
    """Only drafts can be deleted; the audit record keeps the title."""
    lock_activity(activity)
    if activity.state is not ActivityState.DRAFT:
        raise WorkflowError("只能删除草稿。")
    record("activity.delete", actor=by, obj=activity, from_state=activity.state.value,
           reason="", changes={"title": [activity.title, None]})
    db.session.delete(activity)
