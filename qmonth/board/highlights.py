"""Highlights for publicity (宣传推广): the gallery and the ZIP of print photos with captions."""
from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..activities.export import inert
from ..extensions import db
from ..models import Activity, ActivityState, Campaign, Photo, Unit
from ..photos.storage import photo_key
from ..storage import uploads
from ..textnorm import file_text

TITLE_IN_NAME_MAX = 40
# Characters Windows refuses in file names, and control characters.
UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


def highlighted_activities(campaign: Campaign) -> list[Activity]:
    """Accepted entries marked for publicity, in the units' official order, with their photos."""
    query = (
        select(Activity)
        .join(Activity.unit)
        .where(Activity.campaign_id == campaign.id, Activity.state == ActivityState.ACCEPTED,
               Activity.is_highlight.is_(True))
        .options(joinedload(Activity.unit), joinedload(Activity.kind), selectinload(Activity.photos))
        .order_by(Unit.position, Activity.starts_on, Activity.id)
    )
    return list(db.session.scalars(query).unique())


def cover_photo(activity: Activity) -> Photo | None:
    return next((photo for photo in activity.photos if photo.is_cover), activity.photos[0] if activity.photos else None)


def safe_name(text: str, limit: int = TITLE_IN_NAME_MAX) -> str:
    """A file or folder name Windows accepts: no reserved characters, no trailing dot or space
    (and, as in every file, U+FFFD for a non-character an older title still holds)."""
    name = file_text(UNSAFE.sub("_", " ".join(text.split())))[:limit].rstrip(". ")
    if not name or name.upper().split(".")[0] in WINDOWS_RESERVED:
        name = f"_{name}"
    return name


@dataclass
class ZipEntry:
    path: str
    photo: Photo
    activity: Activity


def zip_entries(activities: list[Activity]) -> list[ZipEntry]:
    """<unit name>/<activity id>-<title>-<n>.jpg for every photo of every highlight."""
    entries = []
    for activity in activities:
        folder = safe_name(activity.unit.name, 60)
        stem = f"{activity.id}-{safe_name(activity.title)}"
        for number, photo in enumerate(activity.photos, start=1):
            entries.append(ZipEntry(f"{folder}/{stem}-{number}.jpg", photo, activity))
    return entries


def write_highlights_zip(activities: list[Activity], target: IO[bytes]) -> int:
    """Write the print copies and captions.csv into `target`; returns the number of photos.

    Photos are copied from the store one at a time (never all in memory). JPEGs are stored,
    not compressed again. Non-ASCII names get the ZIP UTF-8 flag from zipfile itself.
    """
    captions = io.StringIO()
    writer = csv.writer(captions)
    writer.writerow(["文件", "单位", "活动名称", "图片说明"])
    written = 0
    store = uploads()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in zip_entries(activities):
            key = photo_key(entry.photo.storage_key, "print")
            if not _copy_into(archive, store, key, entry):
                current_app.logger.warning("highlight photo %s has no print copy at %s", entry.photo.id, key)
                continue
            # Formulas made inert as in the activity export: the file is opened in Excel.
            writer.writerow([inert(file_text(value)) for value in
                             (entry.path, entry.activity.unit.name, entry.activity.title, entry.photo.caption)])
            written += 1
        # The BOM makes Excel on Windows read the Chinese text as UTF-8.
        archive.writestr("captions.csv", "\ufeff" + captions.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return written


def _copy_into(archive: zipfile.ZipFile, store, key: str, entry: ZipEntry) -> bool:
    """Copy one stored file into the archive; False when it is missing."""
    local = store.local_path(key)
    if local is not None:
        if not local.is_file():
            return False
        archive.write(local, entry.path)
        return True
    try:
        source = store.open(key)
    except FileNotFoundError:
        return False
    try:
        moment = (entry.photo.created_at or datetime(1980, 1, 1)).timetuple()[:6]
        info = zipfile.ZipInfo(entry.path, date_time=moment)
        with archive.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
    finally:
        source.close()
    return True
