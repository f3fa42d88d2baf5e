"""Sixteen bureaus registering activities at once through four gunicorn workers:
no error, no entry lost, no entry twice."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, Photo, Unit

from tests import photo_samples as samples
from tests.load_support import CITY_BUREAUS, BureauUser, GunicornServer, activity_id_from

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("SQLite locking under several gunicorn workers")]

# Twelve seconds of load write about 450 entries and 70 photos on the 2-core build machine
# (sixty wrote 2,915 and 479, twenty about 1,000 and 160; the test holds both cores while it
# runs, so each second costs the suite two); QMONTH_LOAD_SECONDS runs it longer.
LOAD_SECONDS = float(os.environ.get("QMONTH_LOAD_SECONDS", "12"))
TITLE_PREFIX = "并发报送"
PHOTO_EVERY = 6  # every sixth entry is saved as a draft and gets a photo


@dataclass
class Ledger:
    """What the clients were told: each acknowledged entry, each acknowledged photo, each error."""

    entries: dict[str, int] = field(default_factory=dict)  # title -> activity id from the redirect
    drafts: set[str] = field(default_factory=set)
    photos: dict[int, int] = field(default_factory=dict)  # photo id -> activity id
    errors: list[str] = field(default_factory=list)
    broken: int = 0  # requests whose connection broke (a killed worker)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledge(self, title: str, activity_id: int, *, draft: bool) -> None:
        with self.lock:
            if title in self.entries and self.entries[title] != activity_id:
                self.errors.append(f"{title}: acknowledged as {self.entries[title]} and as {activity_id}")
            self.entries[title] = activity_id
            if draft:
                self.drafts.add(title)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


@pytest.fixture(scope="module")
def site_photo() -> bytes:
    """A 1600 x 1200 camera-like JPEG (~0.4 MB): enough to exercise the pipeline, cheap on CPU."""
    return samples.encode(samples.photo_like(1600, 1200, seed=7), quality=90)


def register_activities(user: BureauUser, stop_at: float, ledger: Ledger, photo: bytes, *,
                        retry_broken: bool = False, photo_every: int = PHOTO_EVERY) -> None:
    """One reporter's loop: open the form, register an activity, now and then add a photo.

    With retry_broken, a POST whose connection broke is sent again unchanged, as a
    reporter presses the button again; the form key makes the repeat harmless.
    """
    number = 0
    while time.monotonic() < stop_at:
        number += 1
        page, hidden = user.open_new_form()
        if page.status != 200 or not hidden.get("form_key"):
            if page.status == 0 and retry_broken:
                with ledger.lock:
                    ledger.broken += 1
                time.sleep(0.2)
                continue
            ledger.error(f"{user.username}: form page {page.status} {page.text[:200]}")
            continue
        draft = number % photo_every == 0
        title = f"{TITLE_PREFIX} {user.username} 第{number}项"
        answer = user.post_activity(hidden, title, submit=not draft)
        attempts = 1
        while answer.status == 0 and retry_broken and attempts < 60:
            with ledger.lock:
                ledger.broken += 1
            time.sleep(0.5)
            answer = user.post_activity(hidden, title, submit=not draft)
            attempts += 1
        activity_id = activity_id_from(answer)
        if activity_id is None:
            ledger.error(f"{user.username}: POST {title} -> {answer.status} {answer.text[:300]}")
            continue
        ledger.acknowledge(title, activity_id, draft=draft)
        if draft:
            upload = user.upload_photo(activity_id, hidden["csrf_token"], photo)
            if upload.status == 200 and upload.json and upload.json.get("ok"):
                with ledger.lock:
                    ledger.photos[upload.json["id"]] = activity_id
            elif upload.status == 0 and retry_broken:
                with ledger.lock:
                    ledger.broken += 1  # unacknowledged: it may or may not have been kept
            else:
                ledger.error(f"{user.username}: photo for {activity_id} -> {upload.status} {upload.text[:300]}")


def run_load(server: GunicornServer, photo: bytes, seconds: float, *, retry_broken: bool = False,
             photo_every: int = PHOTO_EVERY, during=None) -> Ledger:
    """16 bureau users, each logged in with its own session, writing for `seconds`."""
    ledger = Ledger()
    users = [BureauUser(server.url, username) for username in CITY_BUREAUS]
    for user in users:  # one after another: logging in is not what is measured here
        user.log_in()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=register_activities, args=(user, stop_at, ledger, photo),
                                kwargs={"retry_broken": retry_broken, "photo_every": photo_every})
               for user in users]
    for thread in threads:
        thread.start()
    if during is not None:
        during(stop_at)
    for thread in threads:
        thread.join(timeout=seconds + 180)
    assert not any(thread.is_alive() for thread in threads), "a client never finished"
    return ledger


def stored_entries() -> list[tuple[int, str, str, ActivityState]]:
    db.session.expire_all()
    return db.session.execute(
        select(Activity.id, Activity.title, Unit.code, Activity.state).join(Unit, Activity.unit_id == Unit.id)
        .where(Activity.title.like(f"{TITLE_PREFIX} %"))).all()


def integrity_check() -> list[str]:
    return [row[0] for row in db.session.execute(text("PRAGMA integrity_check"))]


def test_sixteen_bureaus_registering_at_once_lose_nothing_and_duplicate_nothing(app, instance_dir, site_photo):
    server = GunicornServer(instance_dir, database_url=app.config["SQLALCHEMY_DATABASE_URI"], workers=4)
    with server:
        ledger = run_load(server, site_photo, LOAD_SECONDS)
    log = server.log()
    print(f"{len(ledger.entries)} entries, {len(ledger.photos)} photos in {LOAD_SECONDS:g} s")  # shown with -s

    assert ledger.errors == []
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    acknowledged_by = Counter(title.split()[1] for title in ledger.entries)
    assert set(acknowledged_by) == set(CITY_BUREAUS), "every bureau got entries through"

    stored = stored_entries()
    titles = Counter(title for _id, title, _unit, _state in stored)
    assert [title for title, count in titles.items() if count > 1] == []
    assert {title: activity_id for activity_id, title, _unit, _state in stored} == ledger.entries
    for _id, title, unit_code, state in stored:
        assert unit_code == title.split()[1]
        assert state is (ActivityState.DRAFT if title in ledger.drafts else ActivityState.SUBMITTED)
    photos = dict(db.session.execute(select(Photo.id, Photo.activity_id).where(
        Photo.activity_id.in_(ledger.entries.values()))).all())
    assert photos == ledger.photos and len(photos) > 0
    assert integrity_check() == ["ok"]
