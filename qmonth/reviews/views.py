"""A node's review queue (the entries of the units directly below it): accept, return with a reason, highlights, bulk accept (query and rule: services.py)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..access import get_activity_or_404, require_reviewer, visible_activities
from ..activities.services import WorkflowError, accept_activity, bulk_accept, return_activity, set_highlight
from ..campaigns.services import active_campaign
from ..extensions import db
from ..htmx import is_htmx, render
from ..models import Activity, ActivityState
from ..parsing import positive_int, positive_ints
from ..redirects import safe_local_path
from . import bp
from .services import return_reason_problem, review_queue


BULK_MAX = 500  # ten pages of ticks; a longer list is crafted, and would pass SQLite's bound-variable limit
TABS = {
    "submitted": ActivityState.SUBMITTED,
    "accepted": ActivityState.ACCEPTED,
    "returned": ActivityState.RETURNED,
}


@bp.before_request
@login_required
def reviewers_only():
    require_reviewer(current_user)


@bp.get("/")
def queue():
    """Entries by review state, oldest submission first, with unit and kind filters."""
    campaign = active_campaign()
    if campaign is None:  # no campaign loaded yet: nothing to review, and a page that says so
        return render("reviews/no_campaign.html")
    tab = request.args.get("state", "submitted")
    state = TABS.get(tab, ActivityState.SUBMITTED)
    unit_code = request.args.get("unit", "")
    kind_code = request.args.get("kind", "")
    page = positive_int(request.args.get("page")) or 1

    queue = review_queue(current_user, campaign, state, unit_code=unit_code, kind_code=kind_code, page=page)
    return render("reviews/queue.html", "reviews/_queue_rows.html", rows=queue.page.items, tab=tab, state=state,
                  counts=queue.counts, page=queue.page, units=queue.units, unit_code=unit_code,
                  kind_code=kind_code, campaign=campaign)


def _respond(activity: Activity, *, error: str | None = None):
    """The row (htmx) or a redirect back to where the reviewer was."""
    if is_htmx():
        return render("reviews/_row.html", "reviews/_row.html", activity=activity, error=error,
                      status=422 if error else 200)
    if error:
        flash(error, "error")
    back = safe_local_path(request.form.get("next"))
    if back:
        return redirect(back)
    return redirect(url_for("activities.detail", activity_id=activity.id))


def _change(activity: Activity, change, *, done: str = ""):
    """Run one review action on the entry and commit it; a refused change answers with its reason."""
    try:
        change()
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        return _respond(activity, error=str(error))
    if done and not is_htmx():
        flash(done, "success")
    return _respond(activity)


@bp.post("/<int:activity_id>/accept")
def accept(activity_id: int):
    """Accept a submitted entry."""
    activity = get_activity_or_404(current_user, activity_id)
    return _change(activity, lambda: accept_activity(activity, by=current_user), done=f"已采纳：{activity.title}")


@bp.post("/<int:activity_id>/return")
def return_(activity_id: int):
    """Return an entry to its bureau with a reason they will see."""
    activity = get_activity_or_404(current_user, activity_id)
    reason = (request.form.get("reason") or "").strip()
    problem = return_reason_problem(reason)
    if problem:
        return _respond(activity, error=problem)
    return _change(activity, lambda: return_activity(activity, by=current_user, reason=reason),
                   done=f"已退回：{activity.title}")


@bp.post("/<int:activity_id>/highlight")
def highlight(activity_id: int):
    """Mark or unmark an accepted entry for publicity."""
    activity = get_activity_or_404(current_user, activity_id)
    on = request.form.get("on") == "1"
    return _change(activity, lambda: set_highlight(activity, by=current_user, on=on))


@bp.post("/bulk-accept")
def bulk():
    """Accept every ticked submitted entry at once."""
    raw_ids = request.form.getlist("ids")
    if len(raw_ids) > BULK_MAX:
        flash(f"一次最多采纳 {BULK_MAX} 项活动，请分批勾选。", "error")
        return redirect(url_for(".queue"))
    ids = positive_ints(raw_ids)
    if not ids:
        flash("请先勾选要采纳的活动。", "warning")
        return redirect(url_for(".queue"))
    activities = list(db.session.scalars(visible_activities(current_user).where(Activity.id.in_(ids))))
    accepted, skipped = bulk_accept(activities, by=current_user)
    db.session.commit()
    message = f"已采纳 {accepted} 项活动。"
    if skipped:
        message += f"另有 {len(skipped)} 项不在待审核状态，未处理。"
    flash(message, "success")
    return redirect(url_for(".queue"))
