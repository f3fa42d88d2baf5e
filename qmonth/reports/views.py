"""Summary reports (总结报告), the province roll-up and bulletins."""
from __future__ import annotations

import uuid

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import campaign_or_404, is_admin_of_unit, require_province, visible_unit_or_404
from .. import jobs
from ..downloads import content_disposition, send_download
from ..extensions import db, login_manager
from ..htmx import render
from ..models import ReportState
from ..parsing import positive_int
from ..photos.views import FORM_KEY
from ..bodysize import accepts_uploads
from ..storage import pdf_cache, send_stored, uploads
from ..timeutil import format_local, utcnow
from . import bp
from .data import build_bulletin, build_province, build_unit_report, highlight_candidates, report_standing
from .delivery import light_preview, pdf_response, pdf_status_response, preview_response
from .documents import (
    bulletin_document, bulletin_html, province_charts, province_document, province_html, unit_document, unit_html,
)
from .forms import BulletinForm, ordered_choice
from .services import (
    SAVABLE_FIELDS, SECTIONS, ReportError, StaleRevision, clean_value, create_bulletin, current_value,
    get_bulletin_or_404, last_reopen_reason, list_bulletins, may_edit_report, reopen_report, report_for,
    report_locked, save_fields, submit_report, update_bulletin,
)
from .scans import ScanRefused, attach_scan
from .tasks import ZIP_KIND, start_reports_zip as start_zip_job
from .word import unit_docx


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
        snapshot_at=report.snapshot_at if report.state is ReportState.SUBMITTED and report.snapshot else None,
        may_attach_scan=report.state is ReportState.SUBMITTED and is_admin_of_unit(current_user, unit.id),
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
    return preview_response(unit_html(data, root=request.script_root, light=light_preview()))


@bp.get("/<code>.pdf")
def unit_pdf(code: str):
    """The bureau's report as a GB/T 9704 PDF (cached; large ones are made in the background)."""
    campaign, unit, report = _unit_report(code)
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    return pdf_response(unit_document(data), status_url=url_for("reports.unit_pdf_status", code=unit.code),
                         back_url=url_for("reports.unit_report", code=unit.code), title=data.title)


@bp.get("/<code>/pdf-status")
def unit_pdf_status(code: str):
    """Progress of a background PDF (polled by htmx every second)."""
    unit = visible_unit_or_404(current_user, code)
    return pdf_status_response(url_for("reports.unit_pdf", code=unit.code),
                               url_for("reports.unit_pdf_status", code=unit.code))


@bp.get("/<code>.docx")
def unit_word(code: str):
    """The same report as a Word document the office can edit and stamp."""
    campaign, unit, report = _unit_report(code)
    data = build_unit_report(campaign, unit, report, viewer=current_user)
    payload = unit_docx(data)
    return send_download(payload, mimetype=DOCX_MIMETYPE, name=data.title, extension="docx")


# The stamped scan of a submitted report ----------------------------------------------------

@bp.post("/<code>/scan")
@accepts_uploads
def upload_scan(code: str):
    """The unit's admin attaches the stamped scan (盖章扫描件, PDF or JPEG) to its submitted report."""
    campaign = campaign_or_404()
    unit = visible_unit_or_404(current_user, code)
    report = report_for(current_user, campaign, unit, for_writing=False)
    upload = request.files.get("scan")
    try:
        old_key = attach_scan(report, stream=upload.stream if upload else None,
                              filename=upload.filename if upload else "", by=current_user)
        db.session.commit()
    except ScanRefused as error:
        db.session.rollback()
        return _editor(campaign, unit, report, error=str(error), status=error.status)
    if old_key:
        uploads().delete(old_key)
    flash("盖章扫描件已上传，上级单位可查看和下载。", "success")
    return redirect(url_for("reports.unit_report", code=unit.code))


@bp.get("/<code>/scan")
def download_scan(code: str):
    """The stamped scan, for the unit and the units above it."""
    campaign = campaign_or_404()
    unit = visible_unit_or_404(current_user, code)
    report = report_for(current_user, campaign, unit, for_writing=False)
    if not report.scan_key:
        flash("该报告尚未上传盖章扫描件。", "error")
        return redirect(url_for("reports.unit_report", code=unit.code))
    extension = report.scan_key.rsplit(".", 1)[-1]
    response = send_stored(uploads(), report.scan_key, mimetype=report.scan_mimetype or "application/octet-stream",
                           as_attachment=True, download_name=f"{unit.name}总结报告盖章扫描件.{extension}")
    if response is None:
        abort(404)
    return response


# The province roll-up -----------------------------------------------------------------

@bp.get("/province.pdf")
def province_pdf():
    """All 44 units: submission status, figures, charts and highlights (province only)."""
    require_province(current_user)
    data = build_province(campaign_or_404())
    return pdf_response(province_document(data), status_url=url_for("reports.province_pdf_status"),
                         back_url=url_for("reports.index"), title=data.title)


@bp.get("/province/pdf-status")
def province_pdf_status():
    require_province(current_user)
    return pdf_status_response(url_for("reports.province_pdf"), url_for("reports.province_pdf_status"))


@bp.get("/province/preview")
def province_preview():
    require_province(current_user)
    return preview_response(province_html(build_province(campaign_or_404()), root=request.script_root,
                                           light=light_preview()))


# Every unit's report in one ZIP ------------------------------------------------------------

def _zip_job_or_404(job_id: int):
    require_province(current_user)
    job = jobs.get(job_id)
    if job is None or job.kind != ZIP_KIND:
        abort(404)
    return job


@bp.post("/zip")
def start_reports_zip():
    """Start (or join) the job that packs every unit's 总结报告 PDF into one ZIP (province only)."""
    require_province(current_user)
    job = start_zip_job(campaign_or_404(), current_user)
    return redirect(url_for("reports.reports_zip", job_id=job.id), code=303)


@bp.get("/zip/<int:job_id>")
def reports_zip(job_id: int):
    """Its progress: a page, or the bar alone for htmx's poll; a plain reload works too."""
    job = jobs.revive(_zip_job_or_404(job_id))  # a worker that died: back in the queue
    return render("reports/zip_progress.html", "reports/_zip_status.html", job=job)


@bp.get("/zip/<int:job_id>/download")
def reports_zip_download(job_id: int):
    """The finished ZIP, streamed from the PDF cache store."""
    job = _zip_job_or_404(job_id)
    response = send_stored(pdf_cache(), job.result_key, mimetype="application/zip", max_age=0) \
        if job.result_key else None
    if response is None:
        flash("打包文件已过期，请重新打包下载。", "info")
        return redirect(url_for("reports.index"))
    response.headers["Content-Disposition"] = content_disposition(job.payload.get("name", "总结报告"), "zip",
                                                                  ascii_stem="reports")
    response.headers["Cache-Control"] = "no-store"
    return response


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
    form, error = BulletinForm.of(bulletin), ""
    if request.method == "POST":
        form = BulletinForm(campaign)
        if form.validate():
            try:
                update_bulletin(bulletin, title=form.title.data, lead=form.lead.data, issued_on=form.issued_day,
                                activity_ids=ordered_choice(request.form, candidates), by=current_user)
                db.session.commit()
            except ReportError as exc:
                db.session.rollback()
                error = str(exc)
            else:
                if request.form.get("op", "save") == "save":
                    flash(f"第{bulletin.number}期简报已保存。", "success")
                return redirect(url_for("reports.edit_bulletin", number=bulletin.number))
    items = [candidates[i] for i in bulletin.activity_ids or [] if i in candidates]
    missing = [i for i in bulletin.activity_ids or [] if i not in candidates]
    others = [a for a in candidates.values() if a.id not in set(bulletin.activity_ids or [])]
    return render("reports/bulletins/edit.html", status=422 if error or form.errors else 200, bulletin=bulletin,
                  items=items, others=others, missing=missing, error=error, campaign=campaign, form=form)


@bp.get("/bulletins/<int:number>.pdf")
def bulletin_pdf(number: int):
    """The issue as a PDF: masthead, items, up to two photos each."""
    require_province(current_user)
    bulletin = get_bulletin_or_404(campaign_or_404(), number)
    return pdf_response(bulletin_document(build_bulletin(bulletin)),
                         status_url=url_for("reports.bulletin_pdf_status", number=number),
                         back_url=url_for("reports.edit_bulletin", number=number),
                         title=f"质量月活动简报第{number}期")


@bp.get("/bulletins/<int:number>/pdf-status")
def bulletin_pdf_status(number: int):
    require_province(current_user)
    get_bulletin_or_404(campaign_or_404(), number)
    return pdf_status_response(url_for("reports.bulletin_pdf", number=number),
                               url_for("reports.bulletin_pdf_status", number=number))


@bp.get("/bulletins/<int:number>/preview")
def bulletin_preview(number: int):
    require_province(current_user)
    bulletin = get_bulletin_or_404(campaign_or_404(), number)
    return preview_response(bulletin_html(build_bulletin(bulletin), root=request.script_root,
                                          light=light_preview()))
