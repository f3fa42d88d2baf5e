"""Activities: the form, the detail page and the bureau's workflow actions."""
from __future__ import annotations

import uuid

from flask import flash, get_template_attribute, jsonify, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user
from sqlalchemy import func, select

from ..access import campaign_or_404, get_activity_or_404, require_bureau_user, require_own_unit
from ..units import placed_unit
from ..auth.services import LoginRefused, checked_login
from ..bodysize import accepts_uploads
from ..extensions import csrf, db, login_manager
from ..securitylog import security_event
from ..htmx import render
from ..deadlines import is_locked
from ..models import Activity, Attachment, AuditEvent, Campaign, Photo
from ..timeutil import LOCAL_TZ, utcnow
from ..photos.services import (
    AttachmentAlreadyReceived, UploadRefused, add_attachment, parse_client_id, add_photo, attach_staged, refuse_when_full,
    staged_attachments, staged_photos,
)
from ..parsing import positive_int
from ..photos.views import FORM_KEY
from . import bp
from .forms import ActivityForm, form_from_activity, parse_figures
from .late import LATE_NOTICE, parse_captured_at
from .services import (
    FIELD_LABELS,
    ActivityGone,
    ClientIdConflict,
    WorkflowError,
    create_activity,
    delete_activity,
    problems_summary,
    submission_problems,
    submit_activity,
    update_activity,
)


EXPIRED_FORM = "页面已过期，已为您保留填写的内容，请核对后再次提交。"
EXPIRED_SESSION = "登录已超时。填写的内容已保留，请输入用户名和密码后继续保存。"
FILES_NOT_KEPT = "所选的照片和文件未上传，请重新选择。"
BAD_CLIENT_ID = "登记编号格式不正确，请刷新页面后重新提交。"
RELOGIN_TO_SEND = "登录已过期，重新登录后自动继续发送。"


def _campaign_of_the_form():
    """The campaign the form on the page belongs to, which the field checks and the figures fragment
    use (an entry of an earlier campaign keeps its own); the active one when the form names none."""
    raw = request.values.get("campaign_id", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 9:  # never an id past PostgreSQL's integer
        campaign = db.session.get(Campaign, int(raw))
        if campaign is not None:  # catalogues are public: no scoping to apply
            return campaign
    return campaign_or_404()


@bp.route("/new", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one keeps the user's input
@accepts_uploads  # photos and files sent with the form (no JavaScript)
def new():
    """Register an activity: save a draft or submit at once."""
    campaign = campaign_or_404()
    if request.method == "GET":
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        require_bureau_user(current_user)
        data = {"organiser": current_user.unit.name, "contact_name": current_user.display_name}
        actions = issuer_actions_for(current_user, campaign)
        chosen = positive_int(request.args.get("action"))
        if chosen and chosen <= len(actions):  # one of the notice's actions, picked from the list
            action = actions[chosen - 1]
            data.update(title=action["title"], kind=action["kind"],
                        tasks=[str(action["task"])] if action.get("task") else [])
        form = ActivityForm(campaign, formdata=None, data=data)
        return render("activities/form.html", form=form, activity=None, media=_media(None, form),
                      issuer_actions=actions)
    return _handle_post(campaign, activity_id=None)


def issuer_actions_for(user, campaign) -> list[dict]:
    """The issuer's own actions named in the notice, offered on the root's new-activity form only."""
    if user.unit_id is None or user.unit_id != campaign.root_unit_id:
        return []
    return list(campaign.issuer_actions or [])


@bp.route("/quick", methods=["GET", "POST"])
@csrf.exempt  # see new()
@accepts_uploads  # photos and files sent with the form (no JavaScript)
def quick():
    """Quick entry on a phone at the site: kind, title, date, place, people, photos; saved as a draft."""
    campaign = campaign_or_404()
    if request.method == "GET":
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        require_bureau_user(current_user)
        form = ActivityForm(campaign, formdata=None, data={
            "starts_on": _today_in_window(campaign).isoformat(), "organiser": current_user.unit.name,
            "contact_name": current_user.display_name})
        return render(QUICK_TEMPLATE, form=form, activity=None, media=_media(None, form))
    return _handle_post(campaign, activity_id=None, template=QUICK_TEMPLATE)


QUICK_TEMPLATE = "activities/quick.html"


def _today_in_window(campaign):
    """Today in Shanghai, moved into the campaign window (a demo of a past campaign stays valid)."""
    today = utcnow().astimezone(LOCAL_TZ).date()
    return min(max(today, campaign.starts_on), campaign.ends_on)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@csrf.exempt  # see new()
@accepts_uploads  # photos and files sent with the form (no JavaScript)
def edit(activity_id: int):
    """Edit a draft or a returned entry."""
    campaign = campaign_or_404()
    if request.method == "GET":
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        activity = get_activity_or_404(current_user, activity_id)
        require_own_unit(current_user, activity.unit_id)  # units above see it, only its own change it
        if not activity.is_editable:
            flash(f"该活动{activity.state.label}，不能修改。", "warning")
            return redirect(url_for(".detail", activity_id=activity.id))
        form = form_from_activity(activity.campaign, activity)
        _fill_account_defaults(form)  # a quick-entry draft saved before the defaults were kept
        return render("activities/form.html", form=form, activity=activity, media=_media(activity, form))
    return _handle_post(campaign, activity_id=activity_id)


def _handle_post(campaign, activity_id: int | None, template: str = "activities/form.html"):
    """One path for create and edit: session, token, validation, then the service."""
    form, valid = _read_form(campaign, template)
    activity = None

    if not current_user.is_authenticated:
        user = None
        if form.relogin_username.data and form.relogin_password.data and not form.csrf_token.errors:
            try:
                user = checked_login(form.relogin_username.data, form.relogin_password.data,
                                     request.remote_addr or "-")
            except LoginRefused as refusal:
                form.relogin_password.errors = [str(refusal)]
        if user is None:
            db.session.rollback()
            if _wants_json():  # the outbox keeps the entry and sends it again after a login
                return jsonify(ok=False, relogin=True, error=RELOGIN_TO_SEND), 401
            return _form_page(form, None, status=401, notice=EXPIRED_SESSION, needs_login=True,
                              action=request.path, template=template)
        session.clear()
        login_user(user)
        db.session.commit()

    require_bureau_user(current_user)
    if activity_id is not None:
        activity = get_activity_or_404(current_user, activity_id)
        require_own_unit(current_user, activity.unit_id)
        if not activity.is_editable:
            flash(f"该活动{activity.state.label}，不能修改。", "warning")
            return redirect(url_for(".detail", activity_id=activity.id))
        if activity.campaign_id != campaign.id:
            # An entry of an earlier campaign is checked against its own window, kinds and tasks.
            # (Read again only now: who may see the entry was not known before the login check.)
            form, valid = _read_form(activity.campaign, template)
    if template == QUICK_TEMPLATE:
        _fill_account_defaults(form)

    if form.csrf_token.errors:
        security_event("csrf.failure", reason="; ".join(form.csrf_token.errors))
        form.csrf_token.errors = []
        # Files are kept only from a request that proves it came from our form: a forged
        # or stale POST must not be able to store and attach anything.
        notice = f"{EXPIRED_FORM}{FILES_NOT_KEPT}" if _has_chosen_files() else EXPIRED_FORM
        if _wants_json():
            return jsonify(ok=False, relogin=True, error=RELOGIN_TO_SEND), 403
        return _form_page(form, activity, status=422, notice=notice, template=template)
    if not valid:
        _keep_uploaded_files(form, activity)
        notice = f"请修改以下内容后再保存：{'、'.join(_flagged_labels(form, template))}。"
        if _wants_json():
            return jsonify(ok=False, error=notice), 422
        return _form_page(form, activity, status=422, notice=notice, template=template)

    data = form.cleaned()
    created_now = activity is None
    wants_submit = request.form.get("action") == "submit"
    captured_at, arrived_late = None, False
    if activity is None and _wants_json():
        captured_at = parse_captured_at(request.form.get("captured_at"), campaign)
        # Past the deadline only a late arrival gets here (see qmonth.activities.late): a draft.
        arrived_late = captured_at is not None and is_locked(current_user.unit_id, campaign)
        wants_submit = wants_submit and not arrived_late
    if wants_submit:
        problems = submission_problems(data)
        if problems:
            for name, message in problems.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
            _keep_uploaded_files(form, activity)
            notice = f"{problems_summary(problems)}也可以先保存草稿。"
            return _form_page(form, activity, status=422, notice=notice, template=template)

    if activity is None:
        try:
            client_id = parse_client_id(request.form.get("client_id"), BAD_CLIENT_ID)
            activity, created = create_activity(campaign=campaign, unit=current_user.unit, author=current_user,
                                                data=data, form_key=form.form_key.data, client_id=client_id,
                                                captured_at=captured_at, arrived_late=arrived_late)
        except (UploadRefused, ClientIdConflict) as error:
            db.session.rollback()
            status = 409 if isinstance(error, ClientIdConflict) else 422
            if _wants_json():
                return jsonify(ok=False, error=str(error)), status
            return _form_page(form, None, status=status, notice=str(error), template=template)
        if not created:  # a repeated POST of the same form or entry: answer as the first one was answered
            activity_id = activity.id
            db.session.rollback()
            return _created_answer(activity_id, repeat=True)
        attach_staged(activity, staging_key=form.form_key.data, by=current_user)
    else:
        try:
            update_activity(activity, data, by=current_user)
        except ActivityGone as error:
            db.session.rollback()
            flash(str(error), "warning")
            return redirect(url_for(".index"))
        except WorkflowError as error:  # submitted or reviewed since this request read it
            db.session.rollback()
            return _form_page(form, activity, status=409, notice=str(error), template=template)
    upload_problems = _store_uploaded_files(activity=activity, staging_key=None)
    if wants_submit:
        try:
            submit_activity(activity, by=current_user)
        except WorkflowError as error:
            db.session.rollback()
            return _form_page(form, activity, status=422, notice=str(error), template=template)
    db.session.commit()
    if created_now and _wants_json():
        return _created_answer(activity.id, repeat=False, problems=upload_problems)
    if wants_submit:
        flash(_submitted_message(activity), "success")
    else:
        flash("草稿已保存，可稍后在电脑上补充完善后报送。" if template == QUICK_TEMPLATE else "草稿已保存。", "success")
    for problem in upload_problems:
        flash(problem, "error")
    return redirect(url_for(".detail", activity_id=activity.id))


def _wants_json() -> bool:
    """The phone's outbox (X-Requested-With: qmonth-upload) wants the new entry's id, not a page."""
    return request.headers.get("X-Requested-With") == "qmonth-upload"


def _created_answer(activity_id: int, *, repeat: bool, problems: list[str] = ()):
    """The answer to a new entry, the same for its repeats: the entry's page, or JSON for the outbox
    ({"ok", "id", "url", "already_received", "received_at", "arrived_late", "notice"}, 201 when new,
    200 when already received)."""
    url = url_for(".detail", activity_id=activity_id)
    if _wants_json():
        activity = db.session.get(Activity, activity_id)
        return jsonify(ok=True, id=activity_id, url=url, already_received=repeat,
                       upload_problems=list(problems), received_at=activity.created_at.isoformat(),
                       arrived_late=activity.arrived_late,
                       notice=LATE_NOTICE if activity.arrived_late else ""), 200 if repeat else 201
    if repeat:
        flash("该登记已收到，未重复保存。", "info")
    return redirect(url)


def _read_form(campaign, template: str):
    """The posted form, validated against `campaign`: returns (form, valid)."""
    form = ActivityForm(campaign)
    if template == QUICK_TEMPLATE:
        _fill_quick_defaults(form)
    form.read_figures(request.form)
    return form, form.validate()


def _fill_quick_defaults(form) -> None:
    """Quick entry asks for less: the kind's own task and a one-day activity unless told otherwise."""
    kind = form.selected_kind
    if not form.tasks.data and kind is not None and kind.default_task_number:
        form.tasks.data = [str(kind.default_task_number)]
    if not (form.ends_on.data or "").strip():
        form.ends_on.data = form.starts_on.data


def _fill_account_defaults(form) -> None:
    """Quick entry has no inputs for the organiser and the contact: take them from the account, as the
    full form prefills them, so the draft can later be submitted without 「报送前请填写联系人。」."""
    if not form.organiser.data and current_user.unit is not None:
        form.organiser.data = current_user.unit.name
    if not form.contact_name.data:
        form.contact_name.data = current_user.display_name


# The fields in the order each page shows them, so the notice names them as the user meets them.
FORM_ORDER = ("title", "kind", "tasks", "starts_on", "ends_on", "county", "participants", "address", "organiser",
              "co_organisers", "contact_name", "contact_phone", "description", "results", "figures",
              "no_fee_declared")
QUICK_ORDER = ("kind", "title", "starts_on", "county", "address", "participants", "tasks", "ends_on")


def _flagged_labels(form, template: str) -> list[str]:
    """The names of the fields the form flagged, in page order (a figure by its own label)."""
    order = QUICK_ORDER if template == QUICK_TEMPLATE else FORM_ORDER
    flagged = {name for name, field in form._fields.items() if field.errors}
    if template == QUICK_TEMPLATE and form.kind.errors:
        flagged.discard("tasks")  # quick entry takes the task from the kind: the kind is what to fix
    labels = [FIELD_LABELS[name] for name in order if name in flagged]
    kind = form.selected_kind
    figure_labels = [f["label"] for f in (kind.figures if kind else []) if f["code"] in form.figure_errors]
    if figure_labels:
        at = order.index("figures") if "figures" in order else len(order)
        before = sum(1 for name in order[:at] if name in flagged)
        labels[before:before] = figure_labels
    rest = [FIELD_LABELS.get(name, form[name].label.text) for name in flagged if name not in order]
    return labels + rest


def _form_page(form, activity, *, status: int, notice: str, needs_login: bool = False, action: str | None = None,
               template: str = "activities/form.html"):
    media = None if needs_login else _media(activity, form)
    return render(template, form=form, activity=activity, status=status, notice=notice,
                  needs_login=needs_login, action=action, media=media)


def _media(activity, form) -> dict:
    """Photos and files shown in the form: the activity's, or those staged under the form key."""
    if activity is not None:
        return {"photos": activity.photos, "attachments": activity.attachments,
                "upload_url": url_for("photos.upload", activity_id=activity.id),
                "resumable_url": url_for("photos.create_photo_upload", activity_id=activity.id),
                "file_upload_url": url_for("photos.upload_file", activity_id=activity.id)}
    key = form.form_key.data
    return {"photos": staged_photos(current_user, key), "attachments": staged_attachments(current_user, key),
            "upload_url": url_for("photos.upload_staged", form_key=key),
            "resumable_url": url_for("photos.create_staged_photo_upload", form_key=key),
            "file_upload_url": url_for("photos.upload_file_staged", form_key=key)}


def _store_uploaded_files(*, activity, staging_key) -> list[str]:
    """Photos and files sent with the form itself (browsers without JavaScript)."""
    problems = []
    for field, add, model in (("photos", add_photo, Photo), ("files", add_attachment, Attachment)):
        for upload_file in request.files.getlist(field):
            if not upload_file or not upload_file.filename:
                continue
            try:
                # A full activity refuses the file before it is decoded or copied.
                refuse_when_full(model, upload_file.filename, by=current_user, activity=activity,
                                 staging_key=staging_key)
                with db.session.begin_nested():
                    add(stream=upload_file.stream, filename=upload_file.filename, by=current_user,
                        activity=activity, staging_key=staging_key)
            except AttachmentAlreadyReceived:
                continue  # the same file is there already: nothing to add, nothing to report
            except UploadRefused as error:
                problems.append(str(error))
    return problems


def _has_chosen_files() -> bool:
    """Whether the form carried any chosen photo or file (a browser without JavaScript)."""
    return any(upload_file and upload_file.filename
               for field in ("photos", "files") for upload_file in request.files.getlist(field))


def _keep_uploaded_files(form, activity) -> None:
    """The form is coming back with errors: keep the files it carried, so nothing is chosen twice."""
    if not request.files:
        return
    if activity is None and not FORM_KEY.match(form.form_key.data or ""):
        form.form_key.data = uuid.uuid4().hex
    problems = _store_uploaded_files(activity=activity, staging_key=None if activity else form.form_key.data)
    db.session.commit()
    for problem in problems:
        flash(problem, "error")


@bp.get("/figures")
@login_required
def figures():
    """The chosen kind's figure fields, swapped in place when the kind changes."""
    campaign = _campaign_of_the_form()
    kind = next((k for k in campaign.kinds if k.code == request.args.get("kind")), None)
    values, _errors = parse_figures(kind, campaign, request.args)
    return render("activities/_figures.html", "activities/_figures.html",
                  kind=kind, values=values, errors={}, campaign=campaign)


@bp.post("/check")
@login_required
def check_field():
    """Validate one field when the user leaves it; returns that field's error line."""
    campaign = _campaign_of_the_form()
    name = request.args.get("field", "")
    form = ActivityForm(campaign)
    form.read_figures(request.form)
    form.validate()
    field = getattr(form, name, None)
    errors = list(field.errors) if field is not None and name in form._fields else []
    if name == "starts_on" and not errors:
        errors = [e for e in form.ends_on.errors if "早于" in e]
    return get_template_attribute("_field.html", "field_error")(name, errors)


@bp.get("/<int:activity_id>")
@login_required
def detail(activity_id: int):
    """Everything about one activity, with its history."""
    activity = get_activity_or_404(current_user, activity_id)
    problems = submission_problems(activity) if activity.is_editable else {}
    # The unit and its parent as the entry's campaign had them (last year's names for last year's entry).
    placed = placed_unit(activity.campaign_id, activity.unit_id)
    return render("activities/detail.html", activity=activity, history=_history(activity),
                  field_labels=FIELD_LABELS, problems=problems, problems_summary=problems_summary(problems),
                  placed=placed, placed_parent=placed_unit(activity.campaign_id, placed.parent_id))


@bp.get("/<int:activity_id>/history")
@login_required
def history(activity_id: int):
    """The audit trail of one activity (a fragment for htmx, a page otherwise)."""
    activity = get_activity_or_404(current_user, activity_id)
    return render("activities/history.html", "activities/_history.html", activity=activity,
                  history=_history(activity), field_labels=FIELD_LABELS)


def _history(activity):
    """The audit events of this activity, from its creation on.

    A database from before ids were never reused may hold under this id the trail of an
    earlier, deleted activity (of any bureau): that trail ends before this activity's
    create event, so the history starts at the newest create event for the id.
    """
    of_this_id = (AuditEvent.object_type == "activity", AuditEvent.object_id == activity.id)
    created = (select(func.max(AuditEvent.id))
               .where(*of_this_id, AuditEvent.action == "activity.create").scalar_subquery())
    return list(db.session.scalars(
        select(AuditEvent)
        .where(*of_this_id, AuditEvent.id >= func.coalesce(created, 0))
        .order_by(AuditEvent.at, AuditEvent.id)
    ))


@bp.post("/<int:activity_id>/submit")
@login_required
def submit(activity_id: int):
    """Submit a draft or a returned entry to the unit above."""
    activity = get_activity_or_404(current_user, activity_id)
    require_own_unit(current_user, activity.unit_id)
    try:
        submit_activity(activity, by=current_user)
        db.session.commit()
    except WorkflowError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_submitted_message(activity), "success")
    return redirect(url_for(".detail", activity_id=activity_id))


def _submitted_message(activity) -> str:
    """Who reviews the entry now: the province for its addressees, else the unit above."""
    parent = activity.unit.parent
    if parent is None:
        return "活动已报送。"
    return f"活动已报送，等待{'省厅' if parent.parent_id is None else parent.name}审核。"


@bp.route("/<int:activity_id>/delete", methods=["GET", "POST"])
@login_required
def delete(activity_id: int):
    """Delete a draft, after a confirmation page."""
    activity = get_activity_or_404(current_user, activity_id)
    require_own_unit(current_user, activity.unit_id)
    if request.method == "GET":
        if activity.state.value != "draft":
            flash("只能删除草稿。", "warning")
            return redirect(url_for(".detail", activity_id=activity.id))
        return render("activities/delete.html", activity=activity)
    try:
        delete_activity(activity, by=current_user)
        db.session.commit()
    except ActivityGone as error:  # a second click, or a colleague was quicker
        db.session.rollback()
        flash(str(error), "info")
        return redirect(url_for(".index"))
    except WorkflowError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".detail", activity_id=activity_id))
    flash("草稿已删除。", "success")
    return redirect(url_for(".index"))
