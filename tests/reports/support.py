"""Helpers shared by the report tests: photos on disk, Poppler tools, a clean bureau.

(No tests here; the other test_reports*.py modules import from it.)
"""
from __future__ import annotations

import hashlib
import io
import random
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import delete, select

from qmonth.extensions import db
from qmonth.models import Activity, Campaign, Photo, Unit, UnitReport, User
from qmonth.photos.storage import new_storage_key, photo_path, write_atomically


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (320, 240)) -> bytes:
    rnd = random.Random(seed)
    image = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle([x, y, x + size[0] // 3, y + size[1] // 3],
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    output = io.BytesIO()
    image.save(output, "JPEG", quality=80)
    return output.getvalue()


def add_photo(activity: Activity, *, seed: int = 0, caption: str = "", size=(320, 240)) -> Photo:
    """A stored photo of the activity: a real JPEG at photo_path(key, "print") and its row."""
    data = jpeg_bytes(seed, size)
    key = new_storage_key()
    write_atomically(photo_path(key, "print"), data)
    photo = Photo(activity=activity, unit_id=activity.unit_id, uploaded_by_id=activity.author_id,
                  position=len(activity.photos), caption=caption, storage_key=key, width=size[0],
                  height=size[1], sha256=hashlib.sha256(data).hexdigest(), bytes_print=len(data))
    db.session.add(photo)
    db.session.commit()
    return photo


def clear_unit(code: str) -> Unit:
    """Remove the demo entries and any report of a unit, so its figures are the test's own."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    for activity in db.session.scalars(select(Activity).where(Activity.unit_id == unit.id)):
        db.session.delete(activity)
    db.session.execute(delete(UnitReport).where(UnitReport.unit_id == unit.id))
    db.session.commit()
    return unit


def clear_subtree(code: str) -> Unit:
    """clear_unit for the unit and every unit below it (济南 and its county bureaus)."""
    top = db.session.scalar(select(Unit).where(Unit.code == code))
    for below in db.session.scalars(select(Unit.code).where(Unit.path.like(f"{top.path}%"))).all():
        clear_unit(below)
    return top


def campaign() -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.is_active))


def unit_admin(code: str) -> User:
    return db.session.scalar(select(User).where(User.username == f"{code}-admin"))


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        command = [tool, *args, str(path)] + (["-"] if tool == "pdftotext" else [])
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: bytes) -> str:
    return _poppler("pdftotext", pdf, "-enc", "UTF-8")


def pdf_fonts(pdf: bytes) -> list[dict]:
    """pdffonts rows as {name, emb, sub}."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    rows = []
    for line in lines:
        parts = line.split()
        # name … type … encoding … emb sub uni objectID gen: the flags are the 5th to 3rd from the end.
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4]})
    return rows


def pdf_info(pdf: bytes) -> str:
    return _poppler("pdfinfo", pdf)


def squash(text: str) -> str:
    """pdftotext breaks lines where the page does; compare without whitespace."""
    return "".join(text.split())


@pytest.fixture
def photo_maker(app):
    return add_photo
