"""The oversight board of each level: the units below against their deadline, their due dates,
reminders, reopening (the province's and a city bureau's); figures and highlights (the province's;
campaigns: qmonth/campaigns)."""
from __future__ import annotations

import tempfile
from datetime import timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import timeutil
from ..access import (
    board_parent_or_404, campaign_or_404, may_see_board, overseen_unit_or_404, require_board_viewer,
    require_bureau_user, require_province,
)
from ..downloads import send_download
from ..extensions import db
from ..htmx import is_htmx, render
from ..main.services import report_countdown
from ..models import Campaign, Unit
from ..units import campaign_root
from ..redirects import referrer_on_this_site
from ..deadlines import ReportStatus
from . import bp
from .forms import DueDateForm, ReminderForm, ReopenForm, reopening_window
from .highlights import cover_photo, highlighted_activities, write_highlights_zip
from .rows import SORT_CHOICES, BoardFilters, build_board
from .services import (
    BoardError, mark_read, received_reminders, reopen_unit, reopenings_of, send_reminder, sent_reminders,
    set_due_dates, unread_reminder_count,
)
from .stats import campaign_stats, stats_charts



@bp.before_request
@login_required
def require_login():
    return None


# The board ---------------------------------------------------------------------------

@bp.get("/")
def index():
    """The units below the viewer's (or, with ?under=<code>, below a unit in the viewer's subtree)
    against their deadline; htmx gets the table alone (sorting, filters, refresh)."""
    campaign = campaign_or_404()
    parent = _board_parent(campaign)
    return _board_page(campaign, parent, ReminderForm(formdata=None))


def _board_parent(campaign: Campaign) -> Unit:
    require_board_viewer(current_user)
    # The root is the board's unit only for a province admin outside the tree (one query saved otherwise).
    root = campaign_root(campaign) if current_user.unit_id is None else None
    return board_parent_or_404(current_user, (request.values.get("under") or "").strip(), root)


def _due_form(campaign: Campaign, rows) -> DueDateForm:
    """The units below's due date, filled in with the one they work to now."""
    due = min((row.due_at for row in rows if not row.is_reopened), default=campaign.report_due_at)
    local = timeutil.to_local(due)
    return DueDateForm(campaign, formdata=None, data={"due_date": local.date().isoformat(),
                                                      "due_time": local.strftime("%H:%M")})


def _trail(parent: Unit) -> list[Unit]:
    """The units from the viewer's own down to the one drilled to (the page's breadcrumb)."""
    if parent.id == current_user.unit_id or parent.parent_id is None:
        return [parent]
    ids = [int(part) for part in parent.path.strip("/").split("/") if part]
    units = {unit.id: unit for unit in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    chain = [units[i] for i in ids if i in units]
    own = current_user.unit_id
    return chain[next((n for n, unit in enumerate(chain) if unit.id == own), 0):]


def _board_page(campaign: Campaign, parent: Unit, form: ReminderForm, due_form: DueDateForm | None = None,
                status: int = 200):
    board = build_board(campaign, parent=parent)
    if due_form is None:
        due_form = _due_form(campaign, board.rows)
    under = parent.code if parent.id != current_user.unit_id and parent.id != campaign.root_unit_id else ""
    filters = BoardFilters.from_args(request.values, board.cities, under=under)
    return render("board/index.html", "board/_table.html", status=status, campaign=campaign, board=board,
                  rows=filters.apply(board.rows), filters=filters, form=form, statuses=list(ReportStatus),
                  sort_choices=SORT_CHOICES, countdown=report_countdown(campaign, unit_id=None if current_user.is_province else parent.id), parent=parent,
                  trail=_trail(parent), due_form=due_form, is_province=current_user.is_province)


@bp.post("/reminders")
def send():
    """Send a reminder (催报) to the ticked units of the board, or to every unit on it without a
    submitted report: only units below the sender's own can be on it."""
    campaign = campaign_or_404()
    parent = _board_parent(campaign)
    form = ReminderForm()
    if form.validate_on_submit():
        board = build_board(campaign, parent=parent)
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
            back = url_for(".index", **({"under": request.values["under"]} if request.values.get("under") else {}))
            if not is_htmx():
                return redirect(referrer_on_this_site(back) or back)
            response = render("board/_reminder_form.html", "board/_reminder_form.html",
                              form=ReminderForm(formdata=None), sent=True, under=request.values.get("under", ""))
            response.headers["HX-Trigger"] = "board-changed"
            return response
    if is_htmx():
        return render("board/_reminder_form.html", "board/_reminder_form.html", status=422, form=form,
                      under=request.values.get("under", ""))
    return _board_page(campaign, parent, form, status=422)


@bp.post("/due-date")
def due_date():
    """Set the report due time of every unit on the board, on or before the board's own unit's."""
    campaign = campaign_or_404()
    parent = _board_parent(campaign)
    form = DueDateForm(campaign)
    if form.validate_on_submit():
        try:
            units = set_due_dates(campaign, parent, due_at=form.due_at(), by=current_user)
            db.session.commit()
        except BoardError as error:
            db.session.rollback()
            form.due_date.errors.append(str(error))
        except IntegrityError:  # another admin set them at the same moment
            db.session.rollback()
            form.due_date.errors.append("其他管理员刚刚修改了截止时间，请刷新页面后重试。")
            return _board_page(campaign, parent, ReminderForm(formdata=None), form, status=409)
        else:
            flash(f"已将{parent.name}下 {len(units)} 个单位的总结报告截止时间设为 "
                  f"{timeutil.format_local(form.due_at())}。", "success")
            return redirect(url_for(".index", **({"under": request.values["under"]} if request.values.get("under") else {})))
    return _board_page(campaign, parent, ReminderForm(formdata=None), form, status=422)


# Reminders as the units see them -------------------------------------------------------

@bp.get("/reminders")
def reminders():
    """A bureau's reminders (mark as read), and those its own people sent to the units below; for
    the province, the reminders sent so far."""
    campaign = campaign_or_404()
    if current_user.is_province:
        return render("board/reminders_sent.html", campaign=campaign, reminders=sent_reminders(campaign))
    require_bureau_user(current_user)
    sent = sent_reminders(campaign, sent_from=current_user.unit) if may_see_board(current_user) else None
    return render("board/reminders.html", campaign=campaign, items=received_reminders(current_user, campaign),
                  sent=sent)


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
    """One unit below the viewer's against its deadline: figures, reminders, reopenings, and the
    reopen form."""
    campaign = campaign_or_404()
    unit = overseen_unit_or_404(current_user, code)
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
    """Reopen a unit below the viewer's with a reason and a new due time; its writes are allowed
    again until then."""
    campaign = campaign_or_404()
    unit = overseen_unit_or_404(current_user, code)
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
