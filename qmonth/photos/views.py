"""Uploading, serving and managing photos and attachments of activities."""
from __future__ import annotations

import re

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import (
    editable_activity_or_abort, get_attachment_or_404, get_photo_or_404, require_may_change_media,
)
from ..activities.services import WorkflowError, lock_activity
from ..bodysize import accepts_uploads
from ..downloads import content_disposition
from ..extensions import db
from ..securitylog import security_event
from ..htmx import is_htmx, render
from ..models import Activity, Attachment, Photo
from ..redirects import referrer_on_this_site
from . import bp, capture_time
from .services import (
    AlreadyReceived, AttachmentAlreadyReceived, ClientIdConflict, UploadRefused, add_attachment, add_photo,
    check_repeat, delete_attachment, delete_photo, repeated_attachment, make_cover, move_photo, parse_client_id, refuse_when_full, set_caption,
)
from ..storage import send_stored, uploads
from .storage import PHOTO_VARIANTS, attachment_key, photo_key


FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
YEAR = 365 * 24 * 3600


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "qmonth-upload"


def _staging_key(form_key: str) -> str:
    if current_user.unit_id is None or not FORM_KEY.match(form_key):
        abort(404)
    return form_key


def _upload_response(item=None, *, error: str | None = None, back: str | None = None, template: str,
                     status: int = 422, repeat: bool = False):
    """JSON for the page's uploader, else a message and a redirect. A repeat of an upload already
    received answers as the first one did, and says so."""
    if _wants_json():
        if error:
            return jsonify(ok=False, error=error), status
        return jsonify(ok=True, id=item.id, html=render_template(template, item=item, editable=True),
                       already_received=repeat, **photo_times(item))
    if error:
        flash(error, "error")
    else:
        flash(f"已收到，无需重复上传：{item.original_name}" if repeat else f"已上传：{item.original_name}", "success")
    return redirect(back or referrer_on_this_site() or url_for("activities.index"))


def photo_times(item) -> dict:
    """Capture and receipt times of a photo for JSON answers (ISO 8601, UTC); nothing for files."""
    if not isinstance(item, Photo):
        return {}
    return {"taken_at": item.taken_at.isoformat() if item.taken_at else None,
            "received_at": item.received_at.isoformat() if item.received_at else None}


@bp.post("/activities/<int:activity_id>/photos")
@login_required
@accepts_uploads
def upload(activity_id: int):
    """One photo (field `photo`) for an activity; the browser sends them one at a time."""
    activity = editable_activity_or_abort(current_user, activity_id)
    return _store_upload("photo", activity=activity, staging_key=None,
                         back=url_for("activities.edit", activity_id=activity.id))


@bp.post("/activities/staged/<form_key>/photos")
@login_required
@accepts_uploads
def upload_staged(form_key: str):
    """A photo chosen before the activity was first saved: kept under the form's key."""
    return _store_upload("photo", activity=None, staging_key=_staging_key(form_key),
                         back=url_for("activities.new"))


# What each upload route takes: form field, the service that stores it, its table, the card it returns.
UPLOADS = {
    "photo": (add_photo, Photo, "photos/_photo.html", "请选择要上传的照片。"),
    "file": (add_attachment, Attachment, "photos/_attachment.html", "请选择要上传的文件。"),
}


def _store_upload(field: str, *, activity, staging_key, back):
    """One path for photos and files: check the field, call the service, answer JSON or redirect.

    A photo may carry `client_id` (the phone's UUID for it: a repeat is answered "already
    received" with the first answer, never stored twice) and `taken_at` (EXIF DateTimeOriginal
    as the browser read it before shrinking the picture).
    """
    add, model, template, missing = UPLOADS[field]
    upload_file = request.files.get(field)
    if upload_file is None or not upload_file.filename:
        return _upload_response(error=missing, back=back, template=template)
    extra = {}
    try:
        if model is Photo:
            extra = {"client_id": parse_client_id(request.form.get("client_id")),
                     "taken_at": capture_time.from_client(request.form.get("taken_at"))}
            check_repeat(upload_file.stream, by=current_user, client_id=extra["client_id"],
                         filename=upload_file.filename)
        # a full activity refuses the file before it is read or decoded (unless it repeats one there)
        refuse_when_full(model, upload_file.filename, by=current_user, activity=activity, staging_key=staging_key)
    except UploadRefused as error:
        earlier = (repeated_attachment(upload_file.stream, by=current_user, activity=activity,
                                       staging_key=staging_key) if model is Attachment else None)
        db.session.rollback()
        if earlier is not None:
            return _upload_response(db.session.get(Attachment, earlier), back=back, template=template, repeat=True)
        return _upload_response(error=str(error), back=back, template=template,
                                status=409 if isinstance(error, ClientIdConflict) else 422)
    except AlreadyReceived as repeat:
        return _upload_response(repeat.photo, back=back, template=template, repeat=True)
    except capture_time.BadCaptureTime as error:
        db.session.rollback()
        return _upload_response(error=str(error), back=back, template=template)
    # This POST began IMMEDIATE (see create_app): it has held the write lock since its first
    # query. Nothing is written yet, so end that transaction while the file is checked and
    # re-encoded (a second for a phone photo on a busy server), or every save would queue behind it.
    db.session.commit()
    try:
        item = add(stream=upload_file.stream, filename=upload_file.filename, by=current_user,
                   activity=activity, staging_key=staging_key, **extra)
        if activity is not None and not _still_editable(activity):  # submitted meanwhile, in another tab
            db.session.rollback()  # the files written are left to the sweeper
            abort(409)
        db.session.commit()
    except AlreadyReceived as repeat:  # a twin request got there first
        photo_id = repeat.photo.id
        db.session.rollback()
        return _upload_response(db.session.get(Photo, photo_id), back=back, template=template, repeat=True)
    except AttachmentAlreadyReceived as repeat:  # the same file again: a retry after a lost answer
        attachment_id = repeat.attachment.id
        db.session.rollback()
        return _upload_response(db.session.get(Attachment, attachment_id), back=back, template=template,
                                repeat=True)
    except ClientIdConflict as error:
        db.session.rollback()
        return _upload_response(error=str(error), back=back, template=template, status=409)
    except UploadRefused as error:
        db.session.rollback()
        security_event("upload.refused", file=upload_file.filename, reason=str(error))
        return _upload_response(error=str(error), back=back, template=template)
    return _upload_response(item, back=back, template=template)


def _still_editable(activity: Activity) -> bool:
    """Whether the activity still takes files, its row locked until commit (a submit in another
    tab waits for this upload, or this upload sees it)."""
    try:
        lock_activity(activity)
    except WorkflowError:
        return False
    return activity.is_editable


@bp.get("/photos/<int:photo_id>/<variant>.jpg")
@login_required
def serve(photo_id: int, variant: str):
    """A stored copy, through the same scoping as activities; cached for good (URL carries the hash)."""
    if variant not in PHOTO_VARIANTS:
        abort(404)
    photo = get_photo_or_404(current_user, photo_id)
    response = send_stored(uploads(), photo_key(photo.storage_key, variant), mimetype="image/jpeg",
                           etag=f"{photo.sha256[:16]}-{variant}", max_age=YEAR)
    if response is None:
        abort(404)
    response.headers["Cache-Control"] = f"private, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _photo_list_response(photo: Photo, *, activity_id: int | None, staging_key: str | None, message: str = ""):
    if is_htmx():
        return render("photos/_gallery.html", "photos/_gallery.html", **_gallery_context(activity_id, staging_key),
                      message=message)
    if message:
        flash(message, "error")
    if activity_id:
        return redirect(url_for("activities.edit", activity_id=activity_id))
    return redirect(url_for("activities.new"))


def _gallery_context(activity_id: int | None, staging_key: str | None) -> dict:
    from .services import staged_attachments, staged_photos

    if activity_id:
        activity = db.session.get(Activity, activity_id)
        return {"photos": activity.photos, "attachments": activity.attachments, "editable": True,
                "upload_url": url_for("photos.upload", activity_id=activity_id),
                "resumable_url": url_for("photos.create_photo_upload", activity_id=activity_id),
                "file_upload_url": url_for("photos.upload_file", activity_id=activity_id)}
    return {"photos": staged_photos(current_user, staging_key),
            "attachments": staged_attachments(current_user, staging_key), "editable": True,
            "upload_url": url_for("photos.upload_staged", form_key=staging_key),
            "resumable_url": url_for("photos.create_staged_photo_upload", form_key=staging_key),
            "file_upload_url": url_for("photos.upload_file_staged", form_key=staging_key)}


@bp.post("/photos/<int:photo_id>/caption")
@login_required
def caption(photo_id: int):
    """Save a caption as the user leaves the field (htmx)."""
    photo = get_photo_or_404(current_user, photo_id)
    require_may_change_media(current_user, photo)
    try:
        set_caption(photo, request.form.get("caption", ""), by=current_user)
        db.session.commit()
    except UploadRefused as error:
        db.session.rollback()
        return render("photos/_caption.html", "photos/_caption.html", item=photo, error=str(error),
                      value=request.form.get("caption", ""), status=422)
    return render("photos/_caption.html", "photos/_caption.html", item=photo, saved=True)


@bp.post("/photos/<int:photo_id>/move")
@login_required
def move(photo_id: int):
    """Move a photo one place up or down."""
    photo = get_photo_or_404(current_user, photo_id)
    require_may_change_media(current_user, photo)
    move_photo(photo, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return _photo_list_response(photo, activity_id=photo.activity_id, staging_key=photo.staging_key)


@bp.post("/photos/<int:photo_id>/cover")
@login_required
def cover(photo_id: int):
    """Make this photo the activity's cover."""
    photo = get_photo_or_404(current_user, photo_id)
    require_may_change_media(current_user, photo)
    make_cover(photo)
    db.session.commit()
    return _photo_list_response(photo, activity_id=photo.activity_id, staging_key=photo.staging_key)


@bp.route("/photos/<int:photo_id>/delete", methods=["GET", "POST"])
@login_required
def delete(photo_id: int):
    """Delete a photo (htmx asks for confirmation; without JS a page does)."""
    photo = get_photo_or_404(current_user, photo_id)
    require_may_change_media(current_user, photo)
    if request.method == "GET":
        return render("photos/delete.html", item=photo)
    activity_id, staging_key = photo.activity_id, photo.staging_key
    delete_photo(photo, by=current_user)
    db.session.commit()
    return _photo_list_response(photo, activity_id=activity_id, staging_key=staging_key)


@bp.post("/activities/<int:activity_id>/files")
@login_required
@accepts_uploads
def upload_file(activity_id: int):
    """A short video (MP4/MOV) or a document (PDF/DOCX/XLSX), field `file`."""
    activity = editable_activity_or_abort(current_user, activity_id)
    return _store_upload("file", activity=activity, staging_key=None,
                         back=url_for("activities.edit", activity_id=activity.id))


@bp.post("/activities/staged/<form_key>/files")
@login_required
@accepts_uploads
def upload_file_staged(form_key: str):
    """A video or document chosen before the activity was first saved."""
    return _store_upload("file", activity=None, staging_key=_staging_key(form_key),
                         back=url_for("activities.new"))


@bp.get("/files/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    """Download an attachment, always as a file (never rendered inline)."""
    attachment = get_attachment_or_404(current_user, attachment_id)
    response = send_stored(uploads(), attachment_key(attachment.storage_key, attachment.extension),
                           mimetype=attachment.content_type, etag=attachment.sha256[:16])
    if response is None:
        abort(404)
    response.headers["Content-Disposition"] = content_disposition(attachment.original_name, attachment.extension)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/files/<int:attachment_id>/delete")
@login_required
def delete_file(attachment_id: int):
    """Delete a video or document."""
    attachment = get_attachment_or_404(current_user, attachment_id)
    require_may_change_media(current_user, attachment)
    activity_id, staging_key = attachment.activity_id, attachment.staging_key
    delete_attachment(attachment, by=current_user)
    db.session.commit()
    return _photo_list_response(None, activity_id=activity_id, staging_key=staging_key)


from .resumable import register_routes as register_resumable_routes  # noqa: E402 (routes on this blueprint)

register_resumable_routes(bp)
