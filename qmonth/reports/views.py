"""Summary reports (总结报告), the province roll-up and bulletins."""
from __future__ import annotations

import uuid

from flask import (
    Blueprint, Response, abort, current_app, flash, make_response, redirect, render_template, request, send_file,
    url_for,
)
from flask_login import current_user

from ..access import campaign_or_404, is_admin_of_unit, require_province, visible_unit_or_404
from ..extensions import db, login_manager
from ..htmx import render
from ..models import ReportState
from ..parsing import DateError, positive_int, typed_day, year_window
from ..photos.views import FORM_KEY
from ..timeutil import format_local, utcnow
from . import printing
from .data import build_bulletin, build_province, build_unit_report, highlight_candidates, report_standing
from .documents import (
    bulletin_document, bulletin_html, province_charts, province_document, province_html, unit_document, unit_html,
)
from .services import (
    SAVABLE_FIELDS, SECTIONS, ReportError, StaleRevision, clean_value, create_bulletin, current_value,
    get_bulletin_or_404, last_reopen_reason, list_bulletins, may_edit_report, reopen_report, report_for,
    report_locked, save_fields, submit_report, update_bulletin,
)
from .word import unit_docx

bp = Blueprint("reports", __name__, url_prefix="/reports")

PDF_MIMETYPE = "application/pdf"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.before_request
def _require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _unit_report(code: str):
    campaign = campaign_or_404()
    unit = visible_unit_or_404(current_user, code)
    report = report_for(current_user, campaign, unit, for_writing=request.method == "POST")
    if request.method == "POST":
        db.session.commit()
    return campaign, unit, report


# The bureau's report ------------------------------------------------------------------

@bp.get("/")
def index():
    """The province's overview of all reports; a bureau goes straight to its own report."""
    if not current_user.is_province:
        if current_user.unit is None:
            abort(404)
        return redirect(url_for("reports.unit_report", code=current_user.unit.code))
    campaign = campaign_or_404()
    data = build_province(campaign)
    return render("reports/province.html", data=data, charts=province_charts(data), campaign=campaign)


@bp.get("/<code>")
def unit_report(code: str):
    """The report editor (read-only once submitted, and for the province and reporters)."""
    campaign, unit, report = _unit_report(code)
    return _editor(campaign, unit, report)


def _editor(campaign, unit, report, *, values: dict | None = None, error: str = "", status: int = 200):
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    editable = may_edit_report(current_user, report)
    shown = {field: current_value(report, field) for field in SAVABLE_FIELDS}
    shown.update(values or {})
    return render(
        "reports/editor.html", status=status, campaign=campaign, unit=unit, report=report, data=data,
        sections=SECTIONS, values=shown, editable=editable, error=error,
        timeliness=report_standing(report, campaign),
        reopen_reason=last_reopen_reason(report) if report.state is ReportState.DRAFT else "",
        locked=report.state is ReportState.DRAFT and report_locked(report),
    )


def _save_status(field: str, message: str, *, ok: bool, revision: int | None = None, status: int = 200):
    response = make_response(render_template("reports/_save_status.html", field=field, message=message, ok=ok,
                                             revision=revision), status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/<code>/sections/<field>")
def save_section(code: str, field: str):
    """Autosave one section (htmx, debounced); answers with the 已保存 HH:MM indicator."""
    campaign, unit, report = _unit_report(code)
    if field not in SAVABLE_FIELDS:
        abort(404)
    if not may_edit_report(current_user, report):
        message = "报告已报送，不能再修改。" if report.state is ReportState.SUBMITTED else "您没有修改此报告的权限。"
        return _save_status(field, message, ok=False, status=403 if report.state is ReportState.DRAFT else 409)
    raw = request.form.getlist("highlights") if field == "highlights" else request.form.get(field, "")
    try:
        value = clean_value(report, field, raw)
        revision = _posted_revision()
        if revision != report.revision and _matches_basis(current_value(report, field)):
            # The page's last save of this very field may have arrived without its answer
            # reaching the browser; the field is unchanged since, so this is no conflict.
            revision = report.revision
        save_fields(report, {field: value}, revision=revision)
        db.session.commit()
    except StaleRevision as error:
        db.session.rollback()
        return _save_status(field, f"未保存：{error}本页文字已暂存在本机，请刷新页面后恢复。", ok=False,
                            revision=None, status=409)
    except ReportError as error:
        db.session.rollback()
        return _save_status(field, f"未保存：{error}", ok=False, status=422)
    return _save_status(field, f"已保存 {format_local(utcnow(), '%H:%M')}", ok=True, revision=report.revision)


def _posted_revision() -> int:
    raw = request.form.get("revision", "")
    revision = 0 if raw == "0" else positive_int(raw)  # a new report is at revision 0
    if revision is None:
        raise ReportError("页面已过期，请刷新后重试。")
    return revision


def fnv1a(text: str) -> str:
    """32-bit FNV-1a over UTF-16 code units, as reports-editor.js computes it."""
    value = 0x811C9DC5
    data = text.encode("utf-16-le")
    for index in range(0, len(data), 2):
        value ^= data[index] | data[index + 1] << 8
        value = (value * 0x01000193) & 0xFFFFFFFF
    return format(value, "08x")


def _matches_basis(current) -> bool:
    """Whether the stored value is what this page last sent (its `basis`/`pending` hashes)."""
    if isinstance(current, list) or current is None:
        return False
    hashes = {request.form.get("basis", ""), request.form.get("pending", "")} - {""}
    return bool(hashes) and fnv1a(str(current)) in hashes


@bp.post("/<code>/submit")
def submit(code: str):
    """Save what the form holds and submit the report (on time or late against report_due_at)."""
    campaign, unit, report = _unit_report(code)
    if not is_admin_of_unit(current_user, unit.id):
        abort(403)
    if report.state is ReportState.SUBMITTED:
        flash("报告已报送。", "info")
        return redirect(url_for("reports.unit_report", code=unit.code))
    values = {}
    try:
        for field in SAVABLE_FIELDS:
            raw = request.form.getlist("highlights") if field == "highlights" else request.form.get(field)
            if raw is None:
                continue
            values[field] = clean_value(report, field, raw)
        save_fields(report, values, revision=_posted_revision())
        submit_report(report, by=current_user)
        db.session.commit()
    except StaleRevision as error:
        db.session.rollback()
        return _editor(campaign, unit, report, values=values,
                       error=f"{error}请核对下方内容（仍为您填写的文字），复制保存后刷新页面再报送。", status=409)
    except ReportError as error:
        db.session.rollback()
        return _editor(campaign, unit, report, values=values, error=str(error), status=422)
    flash(f"总结报告已报送：{report_standing(report, campaign).label}。", "success")
    return redirect(url_for("reports.unit_report", code=unit.code))


@bp.post("/<code>/reopen")
def reopen(code: str):
    """The province sends a submitted report back to the bureau for changes."""
    campaign, unit, report = _unit_report(code)
    require_province(current_user)
    try:
        reopen_report(report, by=current_user, reason=request.form.get("reason", ""))
        db.session.commit()
    except ReportError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash("已退回修改，报送单位可重新编辑后报送。", "success")
    return redirect(url_for("reports.unit_report", code=unit.code))


@bp.get("/<code>/preview")
def unit_preview(code: str):
    """The print HTML in the browser: the same markup the PDF is made from."""
    campaign, unit, report = _unit_report(code)
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    return _preview_response(unit_html(data, root=request.script_root, light=_light_preview()))


@bp.get("/<code>.pdf")
def unit_pdf(code: str):
    """The bureau's report as a GB/T 9704 PDF (cached; large ones are made in the background)."""
    campaign, unit, report = _unit_report(code)
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    return _pdf_response(unit_document(data), status_url=url_for("reports.unit_pdf_status", code=unit.code),
                         back_url=url_for("reports.unit_report", code=unit.code), title=data.title)


@bp.get("/<code>/pdf-status")
def unit_pdf_status(code: str):
    """Progress of a background PDF (polled by htmx every second)."""
    unit = visible_unit_or_404(current_user, code)
    return _pdf_status(url_for("reports.unit_pdf", code=unit.code),
                       url_for("reports.unit_pdf_status", code=unit.code))


@bp.get("/<code>.docx")
def unit_word(code: str):
    """The same report as a Word document the office can edit and stamp."""
    campaign, unit, report = _unit_report(code)
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    payload = unit_docx(data)
    return send_file(payload, mimetype=DOCX_MIMETYPE, as_attachment=True, download_name=f"{data.title}.docx")


# The province roll-up -----------------------------------------------------------------

@bp.get("/province.pdf")
def province_pdf():
    """All 44 units: submission status, figures, charts and highlights (province only)."""
    require_province(current_user)
    data = build_province(campaign_or_404())
    return _pdf_response(province_document(data), status_url=url_for("reports.province_pdf_status"),
                         back_url=url_for("reports.index"), title=data.title)


@bp.get("/province/pdf-status")
def province_pdf_status():
    require_province(current_user)
    return _pdf_status(url_for("reports.province_pdf"), url_for("reports.province_pdf_status"))


@bp.get("/province/preview")
def province_preview():
    require_province(current_user)
    return _preview_response(province_html(build_province(campaign_or_404()), root=request.script_root,
                                           light=_light_preview()))


# Bulletins -------------------------------------------------------------------------

@bp.get("/bulletins/")
def bulletins():
    """The issues compiled so far (province only)."""
    require_province(current_user)
    campaign = campaign_or_404()
    return render("reports/bulletins/list.html", bulletins=list_bulletins(campaign), campaign=campaign,
                  form_key=uuid.uuid4().hex)


@bp.post("/bulletins/new")
def new_bulletin():
    """Start the next issue and open it for editing; a double click opens the same issue."""
    require_province(current_user)
    form_key = request.form.get("form_key", "")
    bulletin = create_bulletin(campaign_or_404(), by=current_user, form_key=form_key if FORM_KEY.fullmatch(form_key) else None)
    db.session.commit()
    return redirect(url_for("reports.edit_bulletin", number=bulletin.number))


@bp.route("/bulletins/<int:number>", methods=["GET", "POST"])
def edit_bulletin(number: int):
    """Title, lead, date and the ordered highlights of one issue."""
    require_province(current_user)
    campaign = campaign_or_404()
    bulletin = get_bulletin_or_404(campaign, number)
    candidates = {activity.id: activity for activity in highlight_candidates(campaign)}
    error = ""
    if request.method == "POST":
        chosen = _ordered_choice(candidates)
        try:
            issued_on = typed_day(request.form.get("issued_on"), "日期", *year_window(campaign.year))
        except DateError as exc:
            issued_on, error = bulletin.issued_on, str(exc)
        if not error:
            try:
                update_bulletin(bulletin, title=request.form.get("title", ""), lead=request.form.get("lead", ""),
                                issued_on=issued_on, activity_ids=chosen, by=current_user)
                db.session.commit()
            except ReportError as exc:
                db.session.rollback()
                error = str(exc)
        if not error:
            if request.form.get("op", "save") == "save":
                flash(f"第{bulletin.number}期简报已保存。", "success")
            return redirect(url_for("reports.edit_bulletin", number=bulletin.number))
    items = [candidates[i] for i in bulletin.activity_ids or [] if i in candidates]
    missing = [i for i in bulletin.activity_ids or [] if i not in candidates]
    others = [a for a in candidates.values() if a.id not in set(bulletin.activity_ids or [])]
    return render("reports/bulletins/edit.html", status=422 if error else 200, bulletin=bulletin, items=items,
                  others=others, missing=missing, error=error, campaign=campaign,
                  typed=request.form if error else {})


def _ordered_choice(candidates: dict) -> list[int]:
    """The chosen items in the order of their position numbers, then the up/down/add/remove button."""
    positions = []
    for index, raw in enumerate(request.form.getlist("item")):
        activity_id = positive_int(raw)
        if activity_id is None:
            continue
        # The page's order boxes hold 1..999; anything else (nan, ٣, 1e400) keeps the item where it is.
        position = positive_int(request.form.get(f"position-{activity_id}"), 999) or index + 1
        positions.append((position, index, activity_id))
    chosen = [activity_id for _, _, activity_id in sorted(positions) if activity_id in candidates]
    op, _, target = request.form.get("op", "save").partition(":")
    target_id = positive_int(target)
    if op == "add" and target_id in candidates and target_id not in chosen:
        chosen.append(target_id)
    elif op == "remove" and target_id in chosen:
        chosen.remove(target_id)
    elif op in ("up", "down") and target_id in chosen:
        at = chosen.index(target_id)
        swap = at - 1 if op == "up" else at + 1
        if 0 <= swap < len(chosen):
            chosen[at], chosen[swap] = chosen[swap], chosen[at]
    return chosen


@bp.get("/bulletins/<int:number>.pdf")
def bulletin_pdf(number: int):
    """The issue as a PDF: masthead, items, up to two photos each."""
    require_province(current_user)
    bulletin = get_bulletin_or_404(campaign_or_404(), number)
    return _pdf_response(bulletin_document(build_bulletin(bulletin)),
                         status_url=url_for("reports.bulletin_pdf_status", number=number),
                         back_url=url_for("reports.edit_bulletin", number=number),
                         title=f"质量月活动简报第{number}期")


@bp.get("/bulletins/<int:number>/pdf-status")
def bulletin_pdf_status(number: int):
    require_province(current_user)
    get_bulletin_or_404(campaign_or_404(), number)
    return _pdf_status(url_for("reports.bulletin_pdf", number=number),
                       url_for("reports.bulletin_pdf_status", number=number))


@bp.get("/bulletins/<int:number>/preview")
def bulletin_preview(number: int):
    require_province(current_user)
    bulletin = get_bulletin_or_404(campaign_or_404(), number)
    return _preview_response(bulletin_html(build_bulletin(bulletin), root=request.script_root, light=_light_preview()))


# PDF delivery ------------------------------------------------------------------------

def _light_preview() -> bool:
    """?light=1: the preview without the print fonts, for a phone on a weak link (the PDF is exact)."""
    return request.args.get("light") == "1"


def _preview_response(html: str) -> Response:
    response = make_response(html)
    # The preview is only ever opened as a page of its own.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; frame-ancestors 'none'")
    return response


def _send_pdf(path, download_name: str) -> Response:
    response = send_file(path, mimetype=PDF_MIMETYPE, as_attachment=True, download_name=download_name,
                         conditional=False, etag=False, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _pdf_response(document, *, status_url: str, back_url: str, title: str) -> Response:
    """Cached → the file at once; small → made now; large → a thread makes it and the page polls."""
    instance = current_app.instance_path
    cached = printing.cached_pdf(document, instance)
    if cached is not None:
        return _send_pdf(cached, document.download_name)
    limit = float(current_app.config.get("REPORT_SYNC_SECONDS", 2.0))
    busy = printing.is_rendering(document.fingerprint, instance) or printing.renderer_busy()
    if document.estimated_seconds <= limit and not busy:
        return _send_pdf(printing.build_pdf(document, instance), document.download_name)
    job = printing.start_background(document, instance)
    status_url = f"{status_url}?fp={document.fingerprint}"
    return render("reports/pdf_progress.html", status=202, title=title, job=job, status_url=status_url,
                  download_url=request.path, back_url=back_url)


def _pdf_status(download_url: str, status_url: str) -> Response:
    fingerprint = request.args.get("fp", "")
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
        abort(404)
    instance = current_app.instance_path
    ready = (printing.cache_dir(instance) / f"{fingerprint}.pdf").is_file()
    job = printing.job_for(fingerprint)
    failed = bool(job and job.finished and job.error) and not ready
    if not ready and not failed and not printing.is_rendering(fingerprint, instance):
        failed = True  # nothing is making it (a restart): the link starts it again
    return render("reports/_pdf_status.html", "reports/_pdf_status.html", ready=ready, failed=failed, job=job,
                  status_url=f"{status_url}?fp={fingerprint}", download_url=download_url,
                  error=(job.error if job and job.error else "生成已中断，请点击重新生成。"))

