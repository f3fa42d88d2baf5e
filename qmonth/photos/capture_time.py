"""When a photo was taken: EXIF DateTimeOriginal, read on the server or sent by the browser.

A phone's browser reads the capture time from the original file before it shrinks the
picture (a canvas drops EXIF) and sends it with the upload; when the original still
carries EXIF, the server reads it itself and that wins, as it comes with the bytes.
A camera writes local wall-clock time, with its offset only sometimes (OffsetTimeOriginal):
without one, the time is read as Shanghai's. Stored in UTC; None means unknown
(WeChat forwards usually carry no EXIF), shown as 拍摄时间不详, never as the upload time.

Pure functions: no Flask, no database.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ..timeutil import LOCAL_TZ, to_local

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
# A camera clock a little ahead of the server's is common; a year ahead is not a capture time.
FUTURE_SLACK = timedelta(days=2)
MESSAGE_BAD_TAKEN_AT = "拍摄时间格式不正确（应为 EXIF 时间“2024:09:18 10:12:00”或带时区的 ISO 8601 时间）。"

_EXIF_TIME = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$")
# Cameras whose clock was never set write zeros or blanks: unknown, not an error.
_PLACEHOLDER = re.compile(r"^[0:\- T.]*$")

EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011


class BadCaptureTime(ValueError):
    """A capture time sent in no format we read; the message is Chinese."""


def plausible(moment: datetime | None, *, now: datetime) -> datetime | None:
    """The moment in UTC when a photo could have been taken then, else None."""
    if moment is None or not EARLIEST <= moment <= now + FUTURE_SLACK:
        return None
    return moment.astimezone(timezone.utc)


def from_exif_strings(value, offset=None) -> datetime | None:
    """DateTimeOriginal ("2024:09:18 10:12:00") and OffsetTimeOriginal ("+08:00") as an aware
    datetime; None for a blank, zeroed or impossible value (EXIF written by a broken clock)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip().rstrip("\x00").strip()
    match = _EXIF_TIME.match(value)
    if not match:
        return None
    try:
        naive = datetime(*(int(part) for part in match.groups()))
    except ValueError:  # 2024:02:30, 25:00:00 ...
        return None
    zone = LOCAL_TZ
    if isinstance(offset, str) and (offset_match := _OFFSET.match(offset.strip().rstrip("\x00"))):
        sign, hours, minutes = offset_match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta <= timedelta(hours=14):
            zone = timezone(delta if sign == "+" else -delta)
    return naive.replace(tzinfo=zone)


def from_image(img) -> datetime | None:
    """The capture time in a decoded Pillow image's EXIF, or None (missing or malformed)."""
    try:
        exif = img.getexif()
        ifd = exif.get_ifd(EXIF_IFD)
        return from_exif_strings(ifd.get(DATE_TIME_ORIGINAL), ifd.get(OFFSET_TIME_ORIGINAL))
    except Exception:  # a malformed EXIF block is no reason to refuse the photo
        return None


def from_client(value: str | None) -> datetime | None:
    """What the browser sent: EXIF's DateTimeOriginal as written ("2024:09:18 10:12:00", read as
    Shanghai time) or ISO 8601 with an offset ("2024-09-18T10:12:00+08:00").

    Empty or a zeroed placeholder: None. Anything else unreadable raises BadCaptureTime.
    """
    value = (value or "").strip()
    if not value or _PLACEHOLDER.match(value):
        return None
    if len(value) > 40:
        raise BadCaptureTime(MESSAGE_BAD_TAKEN_AT)
    if _EXIF_TIME.match(value):
        moment = from_exif_strings(value)
        if moment is None:
            raise BadCaptureTime(MESSAGE_BAD_TAKEN_AT)
        return moment
    if _ISO_TIME.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadCaptureTime(MESSAGE_BAD_TAKEN_AT) from None
    raise BadCaptureTime(MESSAGE_BAD_TAKEN_AT)


def _month_day_time(local: datetime) -> str:
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def evidence_parts(photo) -> list[str]:
    """["拍摄 9月18日 10:12", "上传 10:15"]: capture and receipt in Shanghai time; the receipt's
    date is left out when it is the capture's. Unknown capture: 拍摄时间不详."""
    taken = to_local(photo.taken_at)
    received = to_local(photo.received_at or photo.created_at)
    parts = [f"拍摄 {_month_day_time(taken)}" if taken else "拍摄时间不详"]
    if received is not None:
        same_day = taken is not None and taken.date() == received.date()
        parts.append(f"上传 {received:%H:%M}" if same_day else f"上传 {_month_day_time(received)}")
    return parts


def evidence_line(photo) -> str:
    """「拍摄 9月18日 10:12 · 上传 10:15」 (see evidence_parts)."""
    return " · ".join(evidence_parts(photo))
