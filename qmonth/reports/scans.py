"""The stamped scan (盖章扫描件) of a submitted report: the unit's admin attaches it, the parent downloads it.

PDF or JPEG only, told by the content as attachments and photos are (qmonth/photos): a PDF needs
its header and %%EOF, a JPEG its SOI marker and a picture Pillow can open. The file goes to the
uploads store under scans/; a new scan replaces the old one (both uploads are in the audit trail).
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from ..access import is_admin_of_unit
from ..audit import record
from ..models import ReportState, UnitReport, User
from ..photos.processing import sniff_image_type
from ..photos.services import _is_pdf, display_name
from ..photos.storage import new_storage_key
from ..storage import uploads
from ..timeutil import utcnow

SCAN_MAX_BYTES = 20 * 1024 * 1024
SCAN_NAME_MAX = 200
SCAN_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg"}


class ScanRefused(ValueError):
    """A scan not taken; the message is shown to the user (Chinese). `status` is the answer's."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def _kind_of(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if _is_pdf(head, path):
        return "pdf"
    if sniff_image_type(head) == "JPEG":
        try:
            with Image.open(path) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return None
        return "jpg"
    return None


def _copy_at_most(source: BinaryIO, target: BinaryIO, limit: int) -> int:
    copied = 0
    while copied < limit:
        chunk = source.read(min(1024 * 1024, limit - copied))
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


def attach_scan(report: UnitReport, *, stream: BinaryIO | None, filename: str, by: User) -> str | None:
    """Store the scan of a submitted report; refused (ScanRefused) unless by its unit's admin.
    Answers the key of the scan it replaces, for the caller to delete once the change is committed."""
    if not is_admin_of_unit(by, report.unit.id):  # an unsaved draft has its unit but no unit_id yet
        raise ScanRefused("只有本单位管理员可以上传盖章扫描件。", 403)
    if report.state is not ReportState.SUBMITTED:
        raise ScanRefused("报告报送后才能上传盖章扫描件。", 409)
    if stream is None or not filename:
        raise ScanRefused("请选择要上传的盖章扫描件（PDF 或 JPEG 文件）。")
    store = uploads()
    stem = f"scans/{new_storage_key()}-scan"  # not a photo's or an attachment's name: the sweeper leaves it
    path = store.scratch_path(f"{stem}.bin")
    try:
        with open(path, "wb") as handle:
            copied = _copy_at_most(stream, handle, SCAN_MAX_BYTES + 1)
        if copied == 0:
            raise ScanRefused("上传的文件是空的，请重新选择盖章扫描件。")
        if copied > SCAN_MAX_BYTES:
            raise ScanRefused(f"盖章扫描件不能超过 {SCAN_MAX_BYTES // (1024 * 1024)} MB，请降低扫描分辨率后重试。", 413)
        kind = _kind_of(path)
        if kind is None:
            raise ScanRefused("盖章扫描件只能是 PDF 或 JPEG 文件，所选文件不是，请重新扫描或导出后上传。")
        key, size = f"{stem}.{kind}", copied
        store.put_file(key, path)
    finally:
        path.unlink(missing_ok=True)
    old_key = report.scan_key
    name = display_name(filename)[:SCAN_NAME_MAX]  # the uploads' own cleaning: no path, control or bidi characters
    report.scan_key, report.scan_name, report.scan_mimetype = key, name, SCAN_TYPES[kind]
    report.scan_bytes, report.scan_uploaded_at = size, utcnow()
    record("report.scan", actor=by, obj=report, unit_id=report.unit_id,
           changes={"scan": [old_key, key], "name": name, "bytes": size})
    return old_key
