"""The province's oversight board: deadlines, reminders, reopening, figures, highlights (campaigns: qmonth/campaigns)."""
from __future__ import annotations

import tempfile
from datetime import timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from .. import timeutil
from ..access import campaign_or_404, require_bureau_user, require_province, unit_by_code_or_404
from ..downloads import send_download
from ..extensions import db
from ..htmx import is_htmx, render
from ..main.services import report_countdown
from ..models import Campaign
from ..redirects import referrer_on_this_site
from ..deadlines import ReportStatus
from . import bp
from .forms import ReminderForm, ReopenForm, reopening_window
from .highlights import cover_photo, highlighted_activities, write_highlights_zip
from .rows import SORT_CHOICES, BoardFilters, build_board
from .services import (
    BoardError, mark_read, received_reminders, reopen_unit, reopenings_of, send_reminder, sent_reminders,
    unread_reminder_count,
)
from .stats import campaign_stats, stats_charts



@bp.before_request
@login_required
def require_login():
    return None


# The board ---------------------------------------------------------------------------

@bp.get("/")
def index():
    """All units against the deadline; htmx gets the table alone (sorting, filters, refresh)."""
    require_province(current_user)
    campaign = campaign_or_404()
    return _board_page(campaign, ReminderForm(formdata=None))


def _board_page(campaign: Campaign, form: ReminderForm, status: int = 200):
    board = build_board(campaign)
    filters = BoardFilters.from_args(request.args, board.cities)
    return render("board/index.html", "board/_table.html", status=status, campaign=campaign, board=board,
                  rows=filters.apply(board.rows), filters=filters, form=form, statuses=list(ReportStatus),
                  sort_choices=SORT_CHOICES, countdown=report_countdown(campaign))


@bp.post("/reminders")
def send():
    """Send a reminder (催报) to the ticked units, or to every unit without a submitted report."""
    require_province(current_user)
    campaign = campaign_or_404()
    form = ReminderForm()
    if form.validate_on_submit():
        board = build_board(campaign)
        if form.target.data == "missing":
            units = board.units_without_submitted_report()
        else:
            chosen = set(form.units.data)
            units = [row.unit for row in board.rows if row.unit.code in chosen]
        try:
            if form.target.data == "missing" and not units:
                raise BoardError("所有单位均已报送总结报告，无需催报。")
            reminder = send_reminder(campaign, units=units, message=form.message.data, by=current_user,
                                     form_key=form.form_key.data)
            db.session.commit()
        except BoardError as error:
            db.session.rollback()
            form.units.errors.append(str(error))
        else:
            # A double click gets the same answer as the first click: the reminder it sent.
            flash(f"已向 {len(reminder.recipients)} 个单位发送催报。", "success")
            if not is_htmx():
                return redirect(referrer_on_this_site(url_for(".index")) or url_for(".index"))
            response = render("board/_reminder_form.html", "board/_reminder_form.html",
                              form=ReminderForm(formdata=None), sent=True)
            response.headers["HX-Trigger"] = "board-changed"
            return response
    if is_htmx():
        return render("board/_reminder_form.html", "board/_reminder_form.html", status=422, form=form)
    return _board_page(campaign, form, status=422)


# Reminders as the units see them -------------------------------------------------------

@bp.get("/reminders")
def reminders():
    """A bureau's reminders (mark as read); for the province, the reminders sent so far."""
    campaign = campaign_or_404()
    if current_user.is_province:
        return render("board/reminders_sent.html", campaign=campaign, reminders=sent_reminders(campaign))
    require_bureau_user(current_user)
    return render("board/reminders.html", campaign=campaign, items=received_reminders(current_user, campaign))


@bp.post("/reminders/<int:reminder_id>/read")
def read(reminder_id: int):
    """Mark one reminder as read for this user (htmx swaps the item and the badge)."""
    return _mark(reminder_id)


@bp.post("/reminders/read-all")
def read_all():
    """Mark every reminder of the unit as read for this user."""
    return _mark(None)


def _mark(reminder_id: int | None):
    campaign = campaign_or_404()
    require_bureau_user(current_user)
    mark_read(current_user, campaign, reminder_id)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for(".reminders"))
    items = received_reminders(current_user, campaign)
    if reminder_id is not None:
        items = [item for item in items if item.reminder.id == reminder_id]
    return render("board/_reminder_items.html", "board/_reminder_items.html", items=items,
                  unread=unread_reminder_count(current_user, campaign), single=reminder_id is not None)


# One unit: details and reopening (补报) ---------------------------------------------------

@bp.get("/units/<code>")
def unit(code: str):
    """One unit against its deadline: figures, reminders, reopenings, and the reopen form."""
    require_province(current_user)
    campaign = campaign_or_404()
    unit = unit_by_code_or_404(code)
    board = build_board(campaign, unit_id=unit.id)
    # A week past the unit's due date, but inside the window the form accepts (and never past
    # the last day a date can hold, should an old reopening be stored at 9999-12-31).
    latest = reopening_window(campaign)[1]
    due_day = timeutil.to_local(max(board.now, board.rows[0].due_at)).date()
    default_day = min(due_day, latest - timedelta(days=7)) + timedelta(days=7)
    form = ReopenForm(campaign, formdata=None, data={"due_date": default_day.isoformat(), "due_time": "23:59"})
    return _unit_page(campaign, unit, board, form)


def _unit_page(campaign, unit, board, form, status: int = 200):
    return render("board/unit.html", status=status, campaign=campaign, unit=unit, row=board.rows[0],
                  previous_year=board.previous_year, form=form, reopenings=reopenings_of(unit, campaign),
                  reminders=sent_reminders(campaign, unit=unit))


@bp.post("/units/<code>/reopen")
def reopen(code: str):
    """Reopen a unit with a reason and a new due time; its writes are allowed again until then."""
    require_province(current_user)
    campaign = campaign_or_404()
    unit = unit_by_code_or_404(code)
    form = ReopenForm(campaign)
    if form.validate_on_submit():
        try:
            reopening = reopen_unit(campaign, unit, due_at=form.due_at(), reason=form.reason.data,
                                    by=current_user)
            db.session.commit()
        except BoardError as error:
            db.session.rollback()
            form.due_date.errors.append(str(error))
        else:
            flash(f"已为{unit.name}开放补报，截止时间 {timeutil.format_local(reopening.due_at)}。", "success")
            return redirect(url_for(".unit", code=unit.code))
    return _unit_page(campaign, unit, build_board(campaign, unit_id=unit.id), form, status=422)


# Figures and charts -----------------------------------------------------------------------

@bp.get("/stats")
def stats():
    """Reported entries and participants per city, task, kind and day, as charts and tables."""
    require_province(current_user)
    campaign = campaign_or_404()
    figures = campaign_stats(campaign)
    return render("board/stats.html", campaign=campaign, stats=figures, charts=stats_charts(figures))


# Highlights for publicity -----------------------------------------------------------------

@bp.get("/highlights")
def highlights():
    """Accepted highlights with their cover photos and captions."""
    require_province(current_user)
    campaign = campaign_or_404()
    activities = highlighted_activities(campaign)
    items = [(activity, cover_photo(activity)) for activity in activities]
    return render("board/highlights.html", campaign=campaign, items=items,
                  photo_count=sum(len(activity.photos) for activity in activities))


@bp.get("/highlights.zip")
def highlights_zip():
    """Every print photo of the highlights, by unit, with captions.csv (a plain download)."""
    require_province(current_user)
    campaign = campaign_or_404()
    # A temporary file rather than memory: the print copies of a province run to hundreds of MB.
    archive = tempfile.TemporaryFile(suffix=".zip")
    try:
        write_highlights_zip(highlighted_activities(campaign), archive)
        archive.seek(0)
    except Exception:
        archive.close()
        raise
    return send_download(archive, mimetype="application/zip", name=f"{campaign.year}年质量月宣传推广照片",
                         extension="zip", conditional=False, etag=False, max_age=0)
