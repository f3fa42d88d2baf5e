"""Photos and attachments of activities: upload, scope, caption, order, cover, delete, sweep."""
from __future__ import annotations

import hashlib
import time
import re
import unicodedata
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..extensions import db
from ..models import CAPTION_MAX, ORIGINAL_NAME_MAX, Activity, Attachment, AttachmentKind, Photo, PhotoUpload, User
from ..textnorm import control_character_problem, is_invalid_code_point, normalise_text
from ..timeutil import utcnow
from . import capture_time
from .processing import PhotoRejected, process_photo
from ..storage import LocalStorage, uploads
from .storage import PHOTO_VARIANTS, TEMP_SUFFIX, attachment_key, new_storage_key, photo_key

MAX_PHOTOS_PER_ACTIVITY = 30
MAX_FILES_PER_ACTIVITY = 10
# Forms not yet saved that hold staged photos or files, per user: a phone that keeps a few
# entries waiting offline fits; a script cannot fill the disk through endless form keys
# (each form holds at most the limits above, and staged uploads expire after two days).
MAX_STAGED_FORMS_PER_USER = 10
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
STAGED_PHOTO_LIFETIME = timedelta(days=2)


class UploadRefused(ValueError):
    """A refused file; the message names the file and the reason, in Chinese."""


class ClientIdConflict(UploadRefused):
    """The phone's id for this photo already names another picture of this user (answered 409)."""


class AlreadyReceived(Exception):
    """A repeat of an upload this user made before (same id, same bytes): here is its photo."""

    def __init__(self, photo: Photo) -> None:
        super().__init__(photo.id)
        self.photo = photo


class AttachmentAlreadyReceived(Exception):
    """The same file, byte for byte, that this user already put on this activity (or staged form):
    a retry after a lost answer, answered with the first row rather than stored twice."""

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(attachment.id)
        self.attachment = attachment


CLIENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MESSAGE_BAD_CLIENT_ID = "照片编号格式不正确，请刷新页面后重新上传。"


def parse_client_id(value: str | None, message: str = MESSAGE_BAD_CLIENT_ID) -> str | None:
    """The phone's UUID for an upload or an entry, lower-cased; None when none was sent.
    Raises UploadRefused with `message`."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if not CLIENT_ID.match(value):
        raise UploadRefused(message)
    return value


def photo_with_client_id(user: User, client_id: str | None) -> Photo | None:
    if not client_id:
        return None
    return db.session.scalar(select(Photo).where(Photo.uploaded_by_id == user.id, Photo.client_id == client_id))


def same_upload_or_conflict(existing: Photo, original_sha256: str, filename: str) -> Exception:
    """A repeat with the same bytes is the same upload; the same id with other bytes is refused."""
    if existing.original_sha256 != original_sha256:
        return ClientIdConflict(
            f"“{display_name(filename)}”未能上传：该照片编号已用于另一张照片（“{existing.original_name}”），"
            "请刷新页面后重新选择照片。")
    return AlreadyReceived(existing)


def check_repeat(stream, *, by: User, client_id: str | None, filename: str) -> None:
    """Before any limit is applied: a repeat of an earlier upload of this user raises AlreadyReceived
    (so a repeat of the 30th photo is not refused as a 31st), a reused id ClientIdConflict.
    Reads the stream to hash it only when the id is known; otherwise leaves it untouched."""
    existing = photo_with_client_id(by, client_id)
    if existing is None:
        return
    digest = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    raise same_upload_or_conflict(existing, digest.hexdigest(), filename)


def _refuse_identical(filename: str, original_sha256: str, *, by: User, activity: Activity | None,
                      staging_key: str | None, client_id: str | None) -> None:
    """The same picture (byte for byte) is on this activity or this user's staged form already.
    When that twin is this very upload (same uploader and id, committed by a racing repeat since
    the first look), the repeat is answered as already received, not refused."""
    where = (Photo.activity_id == activity.id) if activity is not None else (
        (Photo.staging_key == staging_key) & Photo.activity_id.is_(None) & (Photo.uploaded_by_id == by.id))
    twin = db.session.scalar(select(Photo).where(where, Photo.original_sha256 == original_sha256)
                             .order_by(case((Photo.client_id == client_id, 0), else_=1), Photo.id).limit(1))
    if twin is not None and client_id and twin.client_id == client_id and twin.uploaded_by_id == by.id:
        raise AlreadyReceived(twin)
    if twin is not None:
        raise refused(filename, f"这张照片已上传到本活动（与“{twin.original_name}”完全相同），无需重复上传。")


def display_name(filename: str | None) -> str:
    """The name the user gave, made safe to show: no paths, no control or bidi characters,
    no non-characters or surrogates."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c) not in ("Cc", "Cf") and c not in "\u2028\u2029"
                   and not is_invalid_code_point(c))
    name = name.strip() or "未命名文件"
    if len(name) > 80:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:70] + "…" + dot + ext[:8]) if dot and len(ext) <= 8 else name[:79] + "…"
    return name[:ORIGINAL_NAME_MAX]


def refused(filename: str, reason: str) -> UploadRefused:
    return UploadRefused(f"“{display_name(filename)}”未能上传：{reason}")


def staged_photos(user: User, staging_key: str) -> list[Photo]:
    return list(db.session.scalars(
        select(Photo).where(Photo.staging_key == staging_key, Photo.activity_id.is_(None),
                            Photo.uploaded_by_id == user.id).order_by(Photo.position, Photo.id)))


def staged_attachments(user: User, staging_key: str) -> list[Attachment]:
    return list(db.session.scalars(
        select(Attachment).where(Attachment.staging_key == staging_key, Attachment.activity_id.is_(None),
                                 Attachment.uploaded_by_id == user.id).order_by(Attachment.id)))


# Photos --------------------------------------------------------------------------

def _count(model, by: User, activity: Activity | None, staging_key: str | None) -> int:
    """What the activity holds, or what `by` staged under the form key (a staged form is one
    user's: another account that learns the key neither sees nor fills its places)."""
    if activity is not None:
        return db.session.scalar(select(func.count(model.id)).where(model.activity_id == activity.id))
    return db.session.scalar(select(func.count(model.id)).where(
        model.staging_key == staging_key, model.activity_id.is_(None), model.uploaded_by_id == by.id))


def _staged_form_keys(user: User) -> set[str]:
    """The form keys under which this user has staged photos or files not yet expired
    (expired ones wait for the sweeper, and must not hold the user up until it runs)."""
    keys = set()
    since = utcnow() - STAGED_PHOTO_LIFETIME
    for model in (Photo, Attachment):
        keys.update(db.session.scalars(select(model.staging_key).distinct().where(
            model.activity_id.is_(None), model.uploaded_by_id == user.id, model.created_at >= since)))
    return keys


def refuse_when_full(model, filename: str, *, by: User, activity: Activity | None = None,
                     staging_key: str | None = None) -> int:
    """Raise UploadRefused when the activity or the staged form has no room for one more
    photo (model Photo) or file (model Attachment); else return how many it holds.

    The upload views call it before the file is read, so a refused upload costs no
    decoding or streaming; the services call it again just before the row is added,
    because another upload may have taken the last place meanwhile.
    """
    limit, noun = ((MAX_PHOTOS_PER_ACTIVITY, "张照片") if model is Photo else (MAX_FILES_PER_ACTIVITY, "个视频或文件"))
    count = _count(model, by, activity, staging_key)
    if count >= limit:
        raise refused(filename, f"每项活动最多上传 {limit} {noun}。")
    if activity is None:
        keys = _staged_form_keys(by)
        if staging_key not in keys and len(keys) >= MAX_STAGED_FORMS_PER_USER:
            raise refused(filename, f"已有 {MAX_STAGED_FORMS_PER_USER} 份未保存的登记表上传了照片或文件，"
                                    "请先保存这些登记表再上传（未保存的上传两天后自动清除）。")
    return count


def add_photo(*, stream, filename: str, by: User, activity: Activity | None = None,
              staging_key: str | None = None, client_id: str | None = None, taken_at=None,
              received_at=None) -> Photo:
    """Verify and normalise one upload, store its three copies, add the row (caller commits).

    Files are in place before the row is committed, so a row never points at
    nothing; a crash in between leaves orphan files for the sweeper. The image
    work comes before the first query, so a caller that has ended its transaction
    does not hold the database's write lock while it runs (see photos.views).

    With the phone's `client_id`, a repeat of an upload this user made raises AlreadyReceived
    (and ClientIdConflict for other bytes), also when two repeats race: the unique index on
    (uploader, client id) lets one row in and the loser finds it. `taken_at` is what the
    browser read from EXIF; the original's own EXIF wins.
    """
    if activity is None and not staging_key:
        raise ValueError("a photo belongs to an activity or to a staged form")
    try:
        processed = process_photo(stream, max_bytes=MAX_PHOTO_BYTES)
    except PhotoRejected as error:
        raise refused(filename, error.message) from None
    existing = photo_with_client_id(by, client_id)
    if existing is not None:
        raise same_upload_or_conflict(existing, processed.original_sha256, filename)
    _refuse_identical(filename, processed.original_sha256, by=by, activity=activity, staging_key=staging_key,
                      client_id=client_id)
    position = refuse_when_full(Photo, filename, by=by, activity=activity, staging_key=staging_key)
    now = utcnow()
    key = new_storage_key()
    store = uploads()
    for variant in PHOTO_VARIANTS:
        store.put_bytes(photo_key(key, variant), getattr(processed, variant))
    try:
        # A savepoint begun before the row exists (it flushes what is pending): a racing twin
        # with the same client id loses here, on the unique index, not at commit.
        with db.session.begin_nested():
            photo = Photo(
                activity=activity, unit_id=activity.unit_id if activity else by.unit_id, uploaded_by_id=by.id,
                staging_key=None if activity else staging_key, position=position,
                is_cover=position == 0, original_name=display_name(filename), storage_key=key,
                width=processed.width, height=processed.height, sha256=processed.sha256,
                bytes_print=len(processed.print), client_id=client_id, original_sha256=processed.original_sha256,
                taken_at=capture_time.plausible(processed.taken_at or taken_at, now=now),
                received_at=received_at or now,
            )
            db.session.add(photo)
            db.session.flush()
    except IntegrityError:
        _remove_photo_files(key)
        existing = photo_with_client_id(by, client_id)
        if existing is None:
            raise
        raise same_upload_or_conflict(existing, processed.original_sha256, filename) from None
    if activity is not None:
        record("photo.add", actor=by, obj=activity, changes={"photo": [None, photo.original_name]})
    return photo


def attach_staged(activity: Activity, *, staging_key: str, by: User) -> int:
    """Attach the photos and files chosen before the activity was first saved."""
    moved = 0
    for photo in staged_photos(by, staging_key):
        photo.activity = activity
        photo.staging_key = None
        moved += 1
    for attachment in staged_attachments(by, staging_key):
        attachment.activity = activity
        attachment.staging_key = None
        moved += 1
    if moved:
        db.session.flush()
        _renumber(activity)
    return moved


def set_caption(photo: Photo, caption: str, *, by: User) -> None:
    problem = control_character_problem(caption or "")
    caption = normalise_text(caption)
    if problem:
        raise UploadRefused(problem)
    if len(caption) > CAPTION_MAX:
        raise UploadRefused(f"照片说明不能超过 {CAPTION_MAX} 个字。")
    photo.caption = caption


def _siblings(photo: Photo) -> list[Photo]:
    if photo.activity_id is not None:
        condition = Photo.activity_id == photo.activity_id
    else:
        condition = (Photo.staging_key == photo.staging_key) & Photo.activity_id.is_(None)
    return list(db.session.scalars(select(Photo).where(condition).order_by(Photo.position, Photo.id)))


def _renumber(activity: Activity) -> None:
    photos = list(db.session.scalars(select(Photo).where(Photo.activity_id == activity.id)
                                     .order_by(Photo.position, Photo.id)))
    for index, photo in enumerate(photos):
        photo.position = index
    if photos and not any(p.is_cover for p in photos):
        photos[0].is_cover = True
    if sum(p.is_cover for p in photos) > 1:
        first = next(p for p in photos if p.is_cover)
        for p in photos:
            p.is_cover = p is first


def move_photo(photo: Photo, direction: int) -> None:
    """Swap a photo with its neighbour (direction -1 up, +1 down)."""
    photos = _siblings(photo)
    index = photos.index(photo)
    target = index + direction
    if 0 <= target < len(photos):
        photos[index], photos[target] = photos[target], photos[index]
    for position, item in enumerate(photos):
        item.position = position


def make_cover(photo: Photo) -> None:
    for item in _siblings(photo):
        item.is_cover = item.id == photo.id


def delete_photo(photo: Photo, *, by: User) -> None:
    """Remove the row now; the files go with it (or with the sweeper if removal fails)."""
    activity = photo.activity
    siblings = [p for p in _siblings(photo) if p.id != photo.id]
    if activity is not None:
        record("photo.delete", actor=by, obj=activity, changes={"photo": [photo.original_name, None]})
    key = photo.storage_key
    db.session.delete(photo)
    db.session.flush()
    if photo.is_cover and siblings:
        siblings[0].is_cover = True
    for position, item in enumerate(siblings):
        item.position = position
    _remove_photo_files(key)


def _remove_photo_files(key: str) -> None:
    store = uploads()
    for variant in PHOTO_VARIANTS:
        store.delete(photo_key(key, variant))


# Attachments (videos and documents) ---------------------------------------------

VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"qt  ", b"3gp4", b"3gp5", b"dash", b"MSNV"}
# An ftyp box: size, "ftyp", major brand, minor version, then compatible brands (4 bytes each).
FTYP_MIN_SIZE = 16
FTYP_MAX_SIZE = 1024
OFFICE_MAIN_PARTS = {
    # Only these main parts: macro-enabled documents (docm, xlsm) declare other content types.
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
CONTENT_TYPES_MAX_BYTES = 256 * 1024
PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
PDF_EOF_WINDOW = 1024  # readers look for %%EOF this far from the end, as the PDF standard allows


def sniff_attachment(head: bytes, path: Path) -> tuple[AttachmentKind, str, str] | None:
    """(kind, extension, content type) by the file's content, or None.

    Strict by structure, not only by magic bytes, so that a page or a script that merely
    begins like a video or a document is refused: MP4/MOV need a whole ftyp box with a
    video brand; PDF needs its header and %%EOF; DOCX/XLSX need the package's content
    types to name a Word document or an Excel workbook (not a macro-enabled one).
    """
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return _sniff_video(head, path)
    if _is_pdf(head, path):
        return AttachmentKind.DOCUMENT, "pdf", "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        extension = _office_document_type(path)
        if extension is not None:
            return AttachmentKind.DOCUMENT, extension, OFFICE_MAIN_PARTS[extension][2]
    return None


def _sniff_video(head: bytes, path: Path) -> tuple[AttachmentKind, str, str] | None:
    """MP4 or MOV when the file opens with a whole ftyp box whose major brand is a video's."""
    box_size = int.from_bytes(head[:4], "big")
    if not FTYP_MIN_SIZE <= box_size <= FTYP_MAX_SIZE or box_size % 4 or box_size > path.stat().st_size:
        return None
    brand = head[8:12]
    if brand not in VIDEO_BRANDS:
        return None
    if brand == b"qt  ":
        return AttachmentKind.VIDEO, "mov", "video/quicktime"
    return AttachmentKind.VIDEO, "mp4", "video/mp4"


def _is_pdf(head: bytes, path: Path) -> bool:
    """A PDF header with its version (%PDF-1.x or %PDF-2.x) and %%EOF near the end."""
    if not PDF_HEADER.match(head):
        return False
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - PDF_EOF_WINDOW))
        return b"%%EOF" in handle.read()


def _office_document_type(path: Path) -> str | None:
    """"docx" or "xlsx" when the package declares that main part and holds it, else None."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            info = archive.getinfo("[Content_Types].xml") if "[Content_Types].xml" in names else None
            if info is None or info.file_size > CONTENT_TYPES_MAX_BYTES:
                return None
            declared = archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return None
    for extension, (part, main_type, _content_type) in OFFICE_MAIN_PARTS.items():
        if part in names and f'ContentType="{main_type}"' in declared:
            return extension
    return None


def _earlier_attachment(sha256: str, *, by: User, activity: Activity | None,
                        staging_key: str | None) -> Attachment | None:
    query = select(Attachment).where(Attachment.sha256 == sha256, Attachment.uploaded_by_id == by.id)
    if activity is not None:
        query = query.where(Attachment.activity_id == activity.id)
    else:
        query = query.where(Attachment.activity_id.is_(None), Attachment.staging_key == staging_key)
    return db.session.scalar(query.order_by(Attachment.id).limit(1))


def repeated_attachment(stream, *, by: User, activity: Activity | None, staging_key: str | None) -> int | None:
    """The id of the file these bytes repeat (see add_attachment), or None; the stream is rewound."""
    digest = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    earlier = _earlier_attachment(digest.hexdigest(), by=by, activity=activity, staging_key=staging_key)
    return earlier.id if earlier is not None else None


def add_attachment(*, stream, filename: str, by: User, activity: Activity | None = None,
                   staging_key: str | None = None) -> Attachment:
    """Stream a video or document to a local scratch file, check it by content, put it in the
    store, add the row (caller commits). The same bytes again from the same user on the same
    activity or staged form raise AttachmentAlreadyReceived (a retry whose answer was lost)."""
    key = new_storage_key()
    store = uploads()
    scratch = store.scratch_path(attachment_key(key, "upload"))
    digest = hashlib.sha256()
    size = 0
    try:
        with open(scratch, "wb") as handle:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_VIDEO_BYTES:
                    raise refused(filename, "视频不能超过 100 MB，文件不能超过 20 MB。")
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise refused(filename, "文件是空的。")
        with open(scratch, "rb") as handle:
            head = handle.read(64)
        sniffed = sniff_attachment(head, scratch)
        if sniffed is None:
            raise refused(filename, "只能上传 MP4、MOV 视频或 PDF、DOCX、XLSX 文件（按文件内容识别）。")
        kind, extension, content_type = sniffed
        if kind is AttachmentKind.DOCUMENT and size > MAX_DOCUMENT_BYTES:
            raise refused(filename, "文件不能超过 20 MB。")
        earlier = _earlier_attachment(digest.hexdigest(), by=by, activity=activity, staging_key=staging_key)
        if earlier is not None:  # before the limit: a repeat of the 10th file is not an 11th
            raise AttachmentAlreadyReceived(earlier)
        refuse_when_full(Attachment, filename, by=by, activity=activity, staging_key=staging_key)
        store.put_file(attachment_key(key, extension), scratch)
    finally:
        scratch.unlink(missing_ok=True)
    attachment = Attachment(
        activity=activity, unit_id=activity.unit_id if activity else by.unit_id, uploaded_by_id=by.id,
        staging_key=None if activity else staging_key, kind=kind, original_name=display_name(filename),
        storage_key=key, content_type=content_type, extension=extension, size=size, sha256=digest.hexdigest(),
    )
    db.session.add(attachment)
    if activity is not None:
        record("attachment.add", actor=by, obj=activity, changes={"attachment": [None, attachment.original_name]})
    return attachment


def delete_attachment(attachment: Attachment, *, by: User) -> None:
    if attachment.activity is not None:
        record("attachment.delete", actor=by, obj=attachment.activity,
               changes={"attachment": [attachment.original_name, None]})
    key = attachment_key(attachment.storage_key, attachment.extension)
    db.session.delete(attachment)
    db.session.flush()
    uploads().delete(key)


# Sweeper ---------------------------------------------------------------------------

_PHOTO_FILE = re.compile(r"^([0-9a-f]{32})-(screen|print|thumb)\.jpg$")
_ATTACHMENT_FILE = re.compile(r"^([0-9a-f]{32})\.(mp4|mov|pdf|docx|xlsx)$")


# Younger files may belong to an upload on its way to its commit (files are written
# before the row) or still being written under a temporary name: the sweeper leaves
# them alone. Far longer than any request may run (gunicorn's timeout kills it first).
SWEEP_GRACE = timedelta(minutes=10)


def sweep(*, now=None, grace: timedelta = SWEEP_GRACE) -> dict[str, int]:
    """Remove files no row points to, stale temporary files, old staged uploads and expired
    resumable uploads."""
    from .resumable import remove_expired

    now = now or utcnow()
    removed = {"staged": 0, "orphans": 0, "temporary": 0, "resumable": remove_expired(now=now)}
    cutoff = now - STAGED_PHOTO_LIFETIME
    dropped_files = []
    for photo in db.session.scalars(select(Photo).where(Photo.activity_id.is_(None), Photo.created_at < cutoff)):
        dropped_files += [photo_key(photo.storage_key, variant) for variant in PHOTO_VARIANTS]
        db.session.delete(photo)
        removed["staged"] += 1
    for attachment in db.session.scalars(select(Attachment).where(
            Attachment.activity_id.is_(None), Attachment.created_at < cutoff)):
        dropped_files.append(attachment_key(attachment.storage_key, attachment.extension))
        db.session.delete(attachment)
        removed["staged"] += 1
    db.session.commit()
    store = uploads()
    for key in dropped_files:
        store.delete(key)

    photo_keys = set(db.session.scalars(select(Photo.storage_key)))
    attachment_keys = set(db.session.scalars(select(Attachment.storage_key)))
    upload_tokens = set(db.session.scalars(select(PhotoUpload.token)))
    # Commands begin IMMEDIATE (see create_app): end the transaction so that uploads
    # are not held up while the folder is walked.
    db.session.commit()
    # File times come from the real clock, whatever the app's (demo) clock says.
    file_cutoff = time.time() - grace.total_seconds()
    stores = [store]
    if store.kind != "local":
        # Large uploads stream to a local scratch file before they go to the object store.
        stores.append(LocalStorage(current_app.config["UPLOAD_DIR"]))
    for each in stores:
        for item in list(each.list()):
            if item.modified >= file_cutoff:
                continue
            name = item.key.rsplit("/", 1)[-1]
            if item.key.startswith("incoming/"):
                # Pieces of photos sent in pieces (photos/incoming.py) whose upload row is gone.
                if item.key.split("/")[1].split(".")[0] not in upload_tokens:
                    each.delete(item.key)
                    removed["orphans"] += 1
                continue
            if name.endswith(TEMP_SUFFIX):
                each.delete(item.key)
                removed["temporary"] += 1
                continue
            photo_match = _PHOTO_FILE.match(name)
            attachment_match = _ATTACHMENT_FILE.match(name)
            orphan = (photo_match and photo_match.group(1) not in photo_keys) or (
                attachment_match and attachment_match.group(1) not in attachment_keys)
            if orphan:
                each.delete(item.key)
                removed["orphans"] += 1
    return removed
