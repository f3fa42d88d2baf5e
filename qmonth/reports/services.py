"""Summary reports and bulletins: who may open them, saving, submitting, reopening."""
from __future__ import annotations

import re
from datetime import date, datetime

from flask import abort
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..access import is_admin_of_unit, require_province
from ..audit import record
from ..deadlines import is_locked
from ..extensions import db
from ..models import Bulletin, Campaign, ReportState, Unit, UnitReport, User
from ..parsing import DateError, positive_int, typed_day, year_window
from ..textnorm import control_character_problem
from ..timeutil import to_local, utcnow
from . import snapshot
from .data import (
    build_unit_report, compute_figures, counted_activities, opening_paragraph, shown_unit, submission_status,
)


class ReportError(ValueError):
    """A refused change; the message is shown to the user (Chinese)."""


class StaleRevision(ReportError):
    """The report changed since the page was loaded (another tab or colleague)."""


# Narrative sections in print order: (field, heading).
SECTIONS = (
    ("overview", "一、基本情况"),
    ("practices", "二、主要做法和成效"),
    ("highlights_text", "三、特色亮点"),
    ("problems", "四、存在问题和下一步打算"),
)
SECTION_FIELDS = tuple(name for name, _ in SECTIONS)
# The root's report is an upward document (上行文): its 发文字号 and 签发人, entered by its admin.
UPWARD_FIELDS = ("doc_number", "signer")
SAVABLE_FIELDS = SECTION_FIELDS + ("signature", "signed_on", "highlights") + UPWARD_FIELDS
SECTION_MAX = 20_000
SIGNATURE_MAX = 120
DOC_NUMBER_MAX = 40
SIGNER_MAX = 20
# 机关代字〔年份〕序号号, e.g. 鲁建质安函〔2024〕12号.
DOC_NUMBER_PATTERN = re.compile(r"[^\s〔〕]{1,30}〔[0-9]{4}〕[1-9][0-9]{0,5}号")
# Brackets typed instead of the hexagonal ones 〔〕 GB/T 9704 prescribes around the year.
YEAR_BRACKETS = re.compile(r"[\[［(（【]\s*([0-9]{4})\s*[\]］)）】]")


def find_report(campaign: Campaign, unit: Unit) -> UnitReport | None:
    return db.session.scalar(select(UnitReport).where(UnitReport.campaign_id == campaign.id,
                                                      UnitReport.unit_id == unit.id))


def new_report(campaign: Campaign, unit: Unit) -> UnitReport:
    """A report as it starts: the opening paragraph prefilled from the figures. Not added to the session."""
    figures = compute_figures(campaign, counted_activities(campaign, unit=unit, subtree=True))
    return UnitReport(campaign=campaign, unit=unit, state=ReportState.DRAFT,
                      overview=opening_paragraph(campaign, unit, figures), practices="", highlights_text="",
                      problems="", signature=shown_unit(campaign, unit).name, signed_on=to_local(utcnow()).date(),
                      highlight_activity_ids=[], revision=1)


def get_or_create_report(campaign: Campaign, unit: Unit) -> UnitReport:
    """The unit's report, created on first opening by the bureau."""
    report = find_report(campaign, unit)
    if report is not None:
        return report
    report = new_report(campaign, unit)
    db.session.add(report)
    try:
        # A savepoint: two first openings at once create one row; the loser reads the winner's.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        report = find_report(campaign, unit)
        if report is None:
            raise
    return report


def report_for(user: User, campaign: Campaign, unit: Unit, *, for_writing: bool) -> UnitReport:
    """The report to act on. Only a write by the unit admin creates the row: a page view
    shows an unsaved draft, so looking (a GET) never turns "not started" into "draft"."""
    if for_writing and is_admin_of_unit(user, unit.id):
        return get_or_create_report(campaign, unit)
    return find_report(campaign, unit) or new_report(campaign, unit)


def may_edit_report(user: User, report: UnitReport) -> bool:
    """The bureau's unit admin writes the report while it is a draft and the unit is not locked."""
    return (is_admin_of_unit(user, report.unit.id) and report.state is ReportState.DRAFT
            and not report_locked(report))


def report_locked(report: UnitReport) -> bool:
    """Past the unit's due time (the campaign's, or its 补报 reopening's) the report is read-only."""
    return is_locked(report.unit, report.campaign)


def clean_value(report: UnitReport, field: str, raw) -> object:
    """Turn submitted form values into the column value, or refuse with a Chinese message."""
    if field in SECTION_FIELDS:
        text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
        _refuse_control_characters(text, multiline=True)
        if len(text) > SECTION_MAX:
            raise ReportError(f"内容过长：每部分不超过{SECTION_MAX}字。")
        return text
    if field == "signature":
        text = " ".join((raw or "").split())
        _refuse_control_characters(text)
        if len(text) > SIGNATURE_MAX:
            raise ReportError(f"落款不超过{SIGNATURE_MAX}字。")
        return text
    if field in UPWARD_FIELDS:
        return _upward_value(report, field, raw)
    if field == "signed_on":
        try:
            return typed_day(raw, "成文日期", *year_window(report.campaign.year))
        except DateError as error:
            raise ReportError(str(error)) from None
    if field == "highlights":
        allowed = {a.id for a in counted_activities(report.campaign, unit=report.unit, subtree=True)}
        chosen = []
        for value in raw or []:
            number = positive_int(value)
            if number is None:
                raise ReportError("特色亮点的选择无效，请刷新后重试。")
            if number not in allowed:
                raise ReportError("只能选择本单位已报送、已采纳或下级单位已采纳的活动。")
            if number not in chosen:
                chosen.append(number)
        return chosen
    raise ReportError("未知的报告内容。")


def is_upward(report: UnitReport) -> bool:
    """Whether the report is the root's: the issuer's summary to the level above."""
    return report.unit is not None and report.unit.id == report.campaign.root_unit_id


def _upward_value(report: UnitReport, field: str, raw) -> str:
    if not is_upward(report):
        raise ReportError("只有发文单位的报告填写发文字号和签发人。")
    text = "".join((raw or "").split()) if field == "doc_number" else " ".join((raw or "").split())
    _refuse_control_characters(text)
    if field == "signer":
        if len(text) > SIGNER_MAX:
            raise ReportError(f"签发人不超过{SIGNER_MAX}字。")
        return text
    text = YEAR_BRACKETS.sub(r"〔\1〕", text)
    if len(text) > DOC_NUMBER_MAX:
        raise ReportError(f"发文字号不超过{DOC_NUMBER_MAX}字。")
    if text and not DOC_NUMBER_PATTERN.fullmatch(text):
        raise ReportError("发文字号应为“机关代字〔年份〕序号号”，如：鲁建质安函〔2024〕12号。")
    return text


def missing_upward_fields(report: UnitReport) -> str:
    """Why the root's report cannot go out yet (发文字号 or 签发人 empty), or ""."""
    if not is_upward(report):
        return ""
    missing = [label for label, value in (("发文字号", report.doc_number), ("签发人", report.signer)) if not value]
    return f"请填写{'和'.join(missing)}后再报送。" if missing else ""


def _refuse_control_characters(text: str, *, multiline: bool = False) -> None:
    problem = control_character_problem(text, multiline=multiline)
    if problem:
        raise ReportError(problem)


def _column(field: str) -> str:
    return "highlight_activity_ids" if field == "highlights" else field


def current_value(report: UnitReport, field: str):
    return getattr(report, _column(field))


def save_fields(report: UnitReport, values: dict, *, revision: int) -> bool:
    """Store changed fields if the page saw the latest revision; returns whether anything changed.

    The check and the write are one conditional UPDATE, so two saves racing on the
    same revision cannot both win. Unchanged values are no change: a retried
    request that already arrived is accepted without bumping the revision.
    """
    if report.state is not ReportState.DRAFT:
        raise ReportError("报告已报送，不能再修改。如需修改，请联系省厅退回。")
    changed = {_column(f): v for f, v in values.items() if current_value(report, f) != v}
    if not changed:
        return False
    if revision != report.revision:
        raise StaleRevision("报告已在其他窗口或由他人修改，本次内容未保存。")
    result = db.session.execute(
        update(UnitReport).where(UnitReport.id == report.id, UnitReport.revision == revision,
                                 UnitReport.state == ReportState.DRAFT)
        .values(**changed, revision=revision + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StaleRevision("报告已在其他窗口或由他人修改，本次内容未保存。")
    db.session.refresh(report)
    return True


def submit_report(report: UnitReport, *, by: User, now: datetime | None = None) -> str:
    """Draft → submitted; on time or late is judged on UTC instants against report_due_at."""
    if not is_admin_of_unit(by, report.unit_id):
        abort(403)
    if report.state is ReportState.SUBMITTED:
        return submission_status(report, report.campaign)
    if not any((getattr(report, f) or "").strip() for f in SECTION_FIELDS):
        raise ReportError("报告内容为空，不能报送。")
    missing = missing_upward_fields(report)
    if missing:
        raise ReportError(missing)
    report.state = ReportState.SUBMITTED
    report.submitted_at = now or utcnow()
    report.submitted_by = by
    report.revision += 1
    # What the parent receives is frozen now: later edits and acceptances below do not change it.
    report.snapshot = snapshot.take(build_unit_report(report.campaign, report.unit, report, viewer=by, live=True))
    report.snapshot_at = utcnow()
    status = submission_status(report, report.campaign)
    record("report.submit", actor=by, obj=report, from_state=ReportState.DRAFT.value,
           to_state=ReportState.SUBMITTED.value, changes={"timeliness": status})
    return status


def reopen_report(report: UnitReport, *, by: User, reason: str) -> None:
    """Submitted → draft again, with a reason the bureau sees (province only)."""
    require_province(by)
    reason = (reason or "").strip()
    if not reason:
        raise ReportError("退回修改时请填写原因。")
    _refuse_control_characters(reason, multiline=True)
    if report.state is not ReportState.SUBMITTED:
        raise ReportError("只有已报送的报告可以退回修改。")
    report.state = ReportState.DRAFT
    report.submitted_at = None
    report.submitted_by = None
    report.revision += 1
    record("report.reopen", actor=by, obj=report, from_state=ReportState.SUBMITTED.value,
           to_state=ReportState.DRAFT.value, reason=reason)


def last_reopen_reason(report: UnitReport) -> str:
    from ..models import AuditEvent

    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "unitreport", AuditEvent.object_id == report.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))
    return event.reason if event is not None and event.action == "report.reopen" else ""


# Bulletins --------------------------------------------------------------------------

BULLETIN_TITLE_MAX = 120
BULLETIN_LEAD_MAX = 3000


def list_bulletins(campaign: Campaign) -> list[Bulletin]:
    return list(db.session.scalars(select(Bulletin).where(Bulletin.campaign_id == campaign.id)
                                   .order_by(Bulletin.number.desc())))


def get_bulletin_or_404(campaign: Campaign, number: int) -> Bulletin:
    bulletin = db.session.scalar(select(Bulletin).where(Bulletin.campaign_id == campaign.id,
                                                        Bulletin.number == number))
    if bulletin is None:
        abort(404)
    return bulletin


def create_bulletin(campaign: Campaign, *, by: User, form_key: str | None = None) -> Bulletin:
    """The next issue (第N期), numbered without gaps, once per form key: a repeated POST of the
    same button (a double click) gets the issue the first one started."""
    require_province(by)
    for _ in range(5):
        started = _bulletin_with_key(form_key)
        if started is not None:
            return started
        number = (db.session.scalar(select(func.max(Bulletin.number))
                                    .where(Bulletin.campaign_id == campaign.id)) or 0) + 1
        bulletin = Bulletin(campaign=campaign, number=number, title="", lead="", activity_ids=[],
                            issued_on=to_local(utcnow()).date(), created_by_id=by.id, form_key=form_key)
        try:
            # A concurrent twin waits on the unique number (or key), then loses here and looks again;
            # added inside the savepoint, the losing row leaves the session with it.
            with db.session.begin_nested():
                db.session.add(bulletin)
                db.session.flush()
        except IntegrityError:
            continue
        record("bulletin.create", actor=by, obj=bulletin)
        return bulletin
    raise ReportError("简报编号冲突，请重试。")


def _bulletin_with_key(form_key: str | None) -> Bulletin | None:
    if not form_key:
        return None
    return db.session.scalar(select(Bulletin).where(Bulletin.form_key == form_key))


def update_bulletin(bulletin: Bulletin, *, title: str, lead: str, issued_on: date | None,
                    activity_ids: list[int], by: User) -> None:
    require_province(by)
    title = " ".join((title or "").split())
    lead = (lead or "").replace("\r\n", "\n").strip()
    _refuse_control_characters(title)
    _refuse_control_characters(lead, multiline=True)
    if len(title) > BULLETIN_TITLE_MAX:
        raise ReportError(f"标题不超过{BULLETIN_TITLE_MAX}字。")
    if len(lead) > BULLETIN_LEAD_MAX:
        raise ReportError(f"导语不超过{BULLETIN_LEAD_MAX}字。")
    bulletin.title = title
    bulletin.lead = lead
    bulletin.issued_on = issued_on
    bulletin.activity_ids = list(dict.fromkeys(int(i) for i in activity_ids))

