"""Helpers shared by the board tests: the clock, reports, reopenings, photos."""
from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

from qmonth.extensions import db
from qmonth.models import (
    Activity, Photo, ReportState, UnitReopening, UnitReport,
)

from tests.helpers import campaign, unit, user


def without_activities() -> None:
    """Start from no activities at all (the shared database holds 200 demo entries)."""
    db.session.execute(delete(Activity))
    db.session.commit()


def make_report(code: str, *, submitted_at: datetime | None = None) -> UnitReport:
    """A unit's summary report: a draft, or submitted at the given moment."""
    report = UnitReport(campaign=campaign(), unit=unit(code), overview="本单位开展了质量月活动。",
                        state=ReportState.SUBMITTED if submitted_at else ReportState.DRAFT,
                        submitted_at=submitted_at, revision=1, highlight_activity_ids=[])
    db.session.add(report)
    db.session.commit()
    return report


def make_reopening(code: str, *, created_at: datetime, due_at: datetime, reason: str = "系统故障，补报") -> UnitReopening:
    reopening = UnitReopening(campaign_id=campaign().id, unit_id=unit(code).id, reason=reason, due_at=due_at,
                              created_at=created_at, created_by_id=user("province").id)
    db.session.add(reopening)
    db.session.commit()
    return reopening


def jpeg_bytes(colour=(200, 40, 40), size=(64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def make_photo(activity: Activity, *, caption: str = "", position: int = 0, is_cover: bool = False,
               colour=(200, 40, 40)) -> Photo:
    """A photo row with real JPEG files for every stored copy."""
    import hashlib

    from qmonth.photos.storage import PHOTO_VARIANTS, photo_path, write_atomically

    data = jpeg_bytes(colour)
    key = secrets.token_hex(16)
    for variant in PHOTO_VARIANTS:
        write_atomically(photo_path(key, variant), data)
    photo = Photo(activity=activity, unit_id=activity.unit_id, uploaded_by_id=activity.author_id, position=position,
                  is_cover=is_cover, caption=caption, original_name="现场.jpg", storage_key=key, width=64, height=48,
                  sha256=hashlib.sha256(data).hexdigest(), bytes_print=len(data))
    db.session.add(photo)
    db.session.commit()
    return photo


def due() -> datetime:
    """The campaign's report deadline (2024-10-10 23:59:59 Beijing time)."""
    return campaign().report_due_at


DAY = timedelta(days=1)
