"""Photos sent in pieces: a cut upload resumes from the last byte the server acknowledged.

In the manner of tus 1.0 and the IETF draft "Resumable Uploads for HTTP": the client
creates an upload, then sends the bytes with PATCH requests that each say where they
begin; HEAD (or GET) tells what the server holds. When the last byte is in, the server
checks the length (and the SHA-256 when one was given), makes the photo once, exactly as
a one-shot upload would (qmonth.photos.services.add_photo), and answers with it.

JSON API (every write carries the CSRF token in X-CSRFToken, as htmx requests do; the
uploads of one user are visible to that user only, any other token is 404):

``POST /activities/<id>/photo-uploads`` or ``POST /activities/staged/<form_key>/photo-uploads``
    Form fields: ``length`` (bytes, required), ``client_id`` (the phone's UUID for the photo;
    a new one is made when absent), ``filename``, ``sha256`` (hex, optional), ``taken_at``
    (EXIF DateTimeOriginal as the browser read it, optional). Answers 201
    ``{"ok": true, "url": "/photo-uploads/<token>", "offset": 0, "length": n, "complete": false}``
    with ``Location``. The same client id again resumes: 200 with the same url and the
    offset reached; when that photo is already in, 200 ``{"complete": true, "photo": {...}}``.
    The same client id with another length or hash: 409. Refused before any byte is sent:
    a full activity, a photo over 20 MB, more than 10 unfinished uploads (422).

``HEAD /photo-uploads/<token>`` (or ``GET`` for the same as JSON)
    ``Upload-Offset`` and ``Upload-Length`` headers: the bytes acknowledged and expected;
    ``Upload-Complete: ?1`` once the photo is made, and then the GET's JSON holds it.

``PATCH /photo-uploads/<token>``
    ``Content-Type: application/offset+octet-stream``, ``Upload-Offset: <n>`` where the bytes
    begin, which must be the acknowledged offset (else 409 with ``offset`` and the header);
    the body holds the next bytes, any number up to the rest. Bytes that arrive are kept
    even when the connection breaks mid-body. Answers 200 ``{"ok": true, "offset": n,
    "complete": false}`` or, with the last byte, ``{"complete": true, "photo": {"id",
    "html", "already_received", "taken_at", "received_at"}}`` (the answer of a one-shot
    upload). Sent again after the last byte (a lost answer), it answers the same.
    A photo that fails its checks is refused (422) and the upload is dropped.

Partial uploads live in the local upload folder, or in the object store when there is one
so that the pieces may reach different machines (qmonth/photos/incoming.py), and one
request at a time works on each. They expire after 24 hours: each user's expired ones go
when that user starts another, everyone's with ``flask photos sweep``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, jsonify, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import ClientDisconnected

from ..access import editable_activity_or_abort, get_photo_upload_or_404
from ..bodysize import accepts_uploads
from ..extensions import db
from ..models import Photo, PhotoUpload, User
from ..securitylog import security_event
from ..timeutil import utcnow
from . import capture_time, incoming
from .services import (
    MAX_PHOTO_BYTES, AlreadyReceived, ClientIdConflict, UploadRefused, add_photo, display_name, parse_client_id,
    photo_with_client_id, refuse_when_full, refused,
)
from .incoming import incoming_path  # noqa: F401  (for tests)

UPLOAD_LIFETIME = timedelta(hours=24)
MAX_OPEN_UPLOADS_PER_USER = 10
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
LOCK_WAIT_SECONDS = 5.0
# The body is read in pieces this size: a cut loses at most the piece being read (Werkzeug's
# stream drops a partly read piece when the client disconnects).
CUT_LOSS_BYTES = 16 * 1024
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _acknowledged(upload: PhotoUpload) -> int:
    if upload.photo_id is not None:
        return upload.length
    return incoming.acknowledged(upload.token)


def _drop(upload: PhotoUpload) -> None:
    incoming.discard(upload.token)
    db.session.delete(upload)


def remove_expired(*, user: User | None = None, now=None) -> int:
    """Drop uploads past their time (one user's, or everyone's); the caller commits."""
    query = select(PhotoUpload).where(PhotoUpload.expires_at < (now or utcnow()))
    if user is not None:
        query = query.where(PhotoUpload.user_id == user.id)
    expired = list(db.session.scalars(query))
    for upload in expired:
        _drop(upload)
    return len(expired)


class Refusal(Exception):
    """An answer other than success: status, Chinese message, and the offset when it matters."""

    def __init__(self, status: int, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.offset = status, message, offset


def _photo_json(photo: Photo, *, repeat: bool) -> dict:
    from .views import photo_times

    return {"id": photo.id, "html": render_template("photos/_photo.html", item=photo, editable=True),
            "already_received": repeat, **photo_times(photo)}


def _status_json(upload: PhotoUpload, offset: int, *, repeat: bool = False) -> dict:
    photo = db.session.get(Photo, upload.photo_id) if upload.photo_id is not None else None
    return _status_body(upload.token, offset, upload.length, photo, repeat=repeat)


def _status_body(token: str, offset: int, length: int, photo: Photo | None = None, *, repeat: bool = False) -> dict:
    body = {"ok": True, "url": url_for("photos.upload_status", token=token), "offset": offset,
            "length": length, "complete": photo is not None}
    if photo is not None:
        body["photo"] = _photo_json(photo, repeat=repeat)
    return body


def _answer(body: dict, status: int = 200, *, offset: int | None = None, length: int | None = None):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if offset is not None:
        response.headers["Upload-Offset"] = str(offset)
    if length is not None:
        response.headers["Upload-Length"] = str(length)
    return response


def _refusal(error: Refusal):
    body = {"ok": False, "error": error.message}
    if error.offset is not None:
        body["offset"] = error.offset
    return _answer(body, error.status, offset=error.offset)


# Creating -------------------------------------------------------------------------

def _read_creation() -> dict:
    """The creation form, checked; raises Refusal (422) with the field's problem."""
    length = request.form.get("length", "").strip()
    if not _DIGITS.match(length) or int(length) < 1:
        raise Refusal(422, "请提供照片的字节数（正整数）。")
    filename = display_name(request.form.get("filename"))
    if int(length) > MAX_PHOTO_BYTES:
        raise Refusal(422, str(refused(filename, "文件过大：单张照片不能超过 20 MB。")))
    sha256 = request.form.get("sha256", "").strip().lower() or None
    if sha256 is not None and not _SHA256.match(sha256):
        raise Refusal(422, "照片校验值格式不正确（应为 64 位十六进制 SHA-256）。")
    try:
        client_id = parse_client_id(request.form.get("client_id")) or str(uuid.uuid4())
        taken_at = capture_time.from_client(request.form.get("taken_at"))
    except (UploadRefused, capture_time.BadCaptureTime) as error:
        raise Refusal(422, str(error)) from None
    return {"length": int(length), "filename": filename, "sha256": sha256, "client_id": client_id,
            "taken_at": taken_at}


def _same_upload(upload: PhotoUpload, wanted: dict) -> bool:
    return upload.length == wanted["length"] and (
        upload.sha256 is None or wanted["sha256"] is None or upload.sha256 == wanted["sha256"])


def _repeat_of_earlier(user: User, wanted: dict):
    """The answer to a creation this user made before under the same client id, or None."""
    photo = photo_with_client_id(user, wanted["client_id"])
    if photo is not None:
        if wanted["sha256"] is not None and photo.original_sha256 not in (None, wanted["sha256"]):
            raise Refusal(409, f"“{wanted['filename']}”未能上传：该照片编号已用于另一张照片（“{photo.original_name}”），"
                               "请刷新页面后重新选择照片。")
        return _answer({"ok": True, "complete": True, "offset": wanted["length"], "length": wanted["length"],
                        "photo": _photo_json(photo, repeat=True)})
    upload = db.session.scalar(select(PhotoUpload).where(
        PhotoUpload.user_id == user.id, PhotoUpload.client_id == wanted["client_id"]))
    if upload is None:
        return None
    if not _same_upload(upload, wanted):
        raise Refusal(409, f"“{wanted['filename']}”未能上传：该照片编号已用于另一个上传（长度或校验值不同），"
                           "请刷新页面后重新选择照片。")
    offset = _acknowledged(upload)
    return _answer(_status_json(upload, offset, repeat=True), offset=offset, length=upload.length)


def create_upload(*, activity, staging_key: str | None):
    """Start an upload (or find the one this client id started): see the module docstring."""
    user = current_user
    try:
        wanted = _read_creation()
        remove_expired(user=user)
        earlier = _repeat_of_earlier(user, wanted)
        if earlier is not None:
            db.session.commit()
            return earlier
        refuse_when_full(Photo, wanted["filename"], by=user, activity=activity, staging_key=staging_key)
        open_count = db.session.scalar(select(func.count(PhotoUpload.id)).where(
            PhotoUpload.user_id == user.id, PhotoUpload.photo_id.is_(None)))
        if open_count >= MAX_OPEN_UPLOADS_PER_USER:
            raise Refusal(422, f"已有 {MAX_OPEN_UPLOADS_PER_USER} 张照片正在上传，请等这些照片传完后再继续"
                               "（未传完的上传 24 小时后自动清除）。")
    except UploadRefused as error:
        db.session.rollback()
        return _refusal(Refusal(422, str(error)))
    except Refusal as error:
        db.session.rollback()
        return _refusal(error)
    upload = PhotoUpload(
        token=secrets.token_hex(16), user_id=user.id, activity_id=activity.id if activity else None,
        staging_key=None if activity else staging_key, client_id=wanted["client_id"], length=wanted["length"],
        sha256=wanted["sha256"], filename=wanted["filename"], taken_at=wanted["taken_at"],
        expires_at=utcnow() + UPLOAD_LIFETIME)
    try:
        with db.session.begin_nested():  # a racing twin creation loses here
            db.session.add(upload)
            db.session.flush()
    except IntegrityError:
        db.session.rollback()
        try:
            earlier = _repeat_of_earlier(user, wanted)
        except Refusal as error:
            return _refusal(error)
        if earlier is None:
            raise
        return earlier
    incoming.prepare(upload.token)
    db.session.commit()
    response = _answer(_status_json(upload, 0), 201, offset=0, length=upload.length)
    response.headers["Location"] = url_for("photos.upload_status", token=upload.token)
    return response


# Receiving ------------------------------------------------------------------------

def _offset_header() -> int:
    value = request.headers.get("Upload-Offset", "").strip()
    if not _DIGITS.match(value):
        raise Refusal(422, "请求缺少有效的 Upload-Offset（从第几个字节继续）。")
    return int(value)


def _append_body(held, remaining: int) -> None:
    """Copy the body after the bytes held as it arrives, so a connection cut mid-body leaves
    every byte that arrived acknowledged (incoming.py keeps them when the body breaks)."""
    if request.content_length is not None and request.content_length > remaining:
        raise Refusal(409, f"发送的数据超出照片的长度（还差 {remaining} 字节）。")
    stream = request.stream
    written = 0
    with held.writer() as out:
        while written < remaining:
            try:
                piece = stream.read(min(CUT_LOSS_BYTES, remaining - written))
            except (ClientDisconnected, OSError):
                break  # the client is gone; what arrived is kept, and HEAD tells it where to resume
            if not piece:
                break
            # A disk that cannot take the piece (full) raises on: this body is dropped, what was
            # held before stays, and the phone is told to try again later (errors.py, 503).
            out.write(piece)
            out.flush()
            written += len(piece)


@dataclass(frozen=True)
class _Expected:
    """What an upload expects, read before the body so that no transaction stays open meanwhile
    (on SQLite a writing request's transaction holds the write lock)."""

    id: int
    token: str
    length: int
    sha256: str | None
    filename: str
    activity_id: int | None
    staging_key: str | None
    client_id: str
    taken_at: object

    @classmethod
    def of(cls, upload: PhotoUpload) -> _Expected:
        return cls(upload.id, upload.token, upload.length, upload.sha256, upload.filename, upload.activity_id,
                   upload.staging_key, upload.client_id, upload.taken_at)


def _verify(expected: _Expected, held, handle) -> None:
    """Length and, when the client gave one, SHA-256 of what was assembled."""
    handle.seek(0)
    digest = hashlib.sha256()
    size = 0
    while piece := handle.read(1024 * 1024):
        digest.update(piece)
        size += len(piece)
    if size != expected.length or (expected.sha256 and digest.hexdigest() != expected.sha256):
        held.clear()
        raise Refusal(422, f"“{expected.filename}”未能上传：收到的数据与校验值不符，请重新上传。", offset=0)


def _finish(expected: _Expected, held) -> tuple[Photo, bool]:
    """Make the photo from the assembled bytes, once: (photo, whether it was there already)."""
    with held.contents() as handle:
        return _make_photo(expected, held, handle)


def _make_photo(expected: _Expected, held, handle) -> tuple[Photo, bool]:
    from .views import _still_editable

    _verify(expected, held, handle)
    handle.seek(0)
    activity = None
    if expected.activity_id is not None:
        activity = editable_activity_or_abort(current_user, expected.activity_id)
    user = current_user._get_current_object()
    db.session.commit()  # no write lock while the picture is decoded (see photos.views)
    try:
        photo = add_photo(stream=handle, filename=expected.filename, by=user, activity=activity,
                          staging_key=expected.staging_key, client_id=expected.client_id,
                          taken_at=expected.taken_at, received_at=utcnow())
        repeat = False
        if activity is not None and not _still_editable(activity):
            db.session.rollback()
            raise Refusal(409, "该活动已报送或已被处理，不能再添加照片。")
    except AlreadyReceived as earlier:
        photo_id = earlier.photo.id
        db.session.rollback()
        photo, repeat = db.session.get(Photo, photo_id), True
    except ClientIdConflict as error:
        db.session.rollback()
        raise Refusal(409, str(error)) from None
    except UploadRefused as error:
        db.session.rollback()
        security_event("upload.refused", file=expected.filename, reason=str(error))
        db.session.execute(delete(PhotoUpload).where(PhotoUpload.id == expected.id))
        db.session.commit()
        incoming.discard(expected.token)
        raise Refusal(422, str(error)) from None
    db.session.flush()
    db.session.execute(PhotoUpload.__table__.update().where(PhotoUpload.id == expected.id)
                       .values(photo_id=photo.id))
    db.session.commit()
    incoming.discard(expected.token)
    return photo, repeat


def _live_upload(token: str) -> PhotoUpload:
    """The user's upload, unless it expired unfinished (then 404, as once the sweeper has run)."""
    upload = get_photo_upload_or_404(current_user, token)
    if upload.photo_id is None and upload.expires_at < utcnow():
        abort(404)
    return upload


def receive_chunk(token: str):
    """PATCH: append the body at the acknowledged offset; finish the photo with the last byte."""
    upload = _live_upload(token)
    if request.mimetype != CHUNK_CONTENT_TYPE:
        return _refusal(Refusal(415, f"请以 {CHUNK_CONTENT_TYPE} 发送照片数据。"))
    try:
        offset = _offset_header()
        if upload.photo_id is not None:  # sent again after the last byte: the answer was lost
            if offset != upload.length:
                raise Refusal(409, "照片已全部收到。", offset=upload.length)
            return _answer(_status_json(upload, upload.length, repeat=True), offset=upload.length,
                           length=upload.length)
        expected = _Expected.of(upload)
        db.session.commit()  # nothing written yet: no write lock while the body arrives
        with incoming.locked(token) as held:
            if held is None:
                raise Refusal(409, "该照片的上一段数据仍在接收，请稍后查询进度再继续。",
                              offset=incoming.acknowledged(token))
            acknowledged = held.size()
            if offset != acknowledged:
                raise Refusal(409, f"上传位置不一致：服务器已收到 {acknowledged} 字节，请从该处继续。",
                              offset=acknowledged)
            _append_body(held, expected.length - acknowledged)
            acknowledged = held.size()
            if acknowledged < expected.length:
                return _answer(_status_body(token, acknowledged, expected.length), offset=acknowledged,
                               length=expected.length)
            photo, repeat = _finish(expected, held)
    except Refusal as error:
        db.session.rollback()
        return _refusal(error)
    return _answer(_status_body(token, expected.length, expected.length, photo, repeat=repeat),
                   offset=expected.length, length=expected.length)


def status_of_upload(token: str):
    """HEAD or GET: what the server holds of this upload (waits briefly for a body still arriving)."""
    upload = _live_upload(token)
    if upload.photo_id is not None:
        response = _answer(_status_json(upload, upload.length, repeat=True), offset=upload.length,
                           length=upload.length)
        response.headers["Upload-Complete"] = "?1"
        return response
    length = upload.length
    if incoming.nothing_received(token):  # a GET creates nothing
        return _answer(_status_body(token, 0, length), offset=0, length=length)
    with incoming.locked(token, wait=LOCK_WAIT_SECONDS) as held:
        offset = held.size() if held is not None else incoming.acknowledged(token)
    return _answer(_status_body(token, offset, length), offset=offset, length=length)


def register_routes(bp) -> None:
    """The resumable-upload routes, on the photos blueprint."""

    @bp.post("/activities/<int:activity_id>/photo-uploads")
    @login_required
    def create_photo_upload(activity_id: int):
        """Start a photo sent in pieces for an activity."""
        activity = editable_activity_or_abort(current_user, activity_id)
        return create_upload(activity=activity, staging_key=None)

    @bp.post("/activities/staged/<form_key>/photo-uploads")
    @login_required
    def create_staged_photo_upload(form_key: str):
        """Start a photo sent in pieces for a form not yet saved."""
        from .views import _staging_key

        return create_upload(activity=None, staging_key=_staging_key(form_key))

    @bp.get("/photo-uploads/<token>")
    @login_required
    def upload_status(token: str):
        """HEAD/GET: the acknowledged offset."""
        return status_of_upload(token)

    @bp.patch("/photo-uploads/<token>")
    @login_required
    @accepts_uploads
    def upload_chunk(token: str):
        """PATCH: the next bytes of the photo."""
        return receive_chunk(token)
