"""Backups taken while bureaus keep writing, restored into a new instance."""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, inspect, select, text

from qmonth.backup import make_backup, prune_backups
from qmonth.extensions import db
from qmonth.models import Activity, Photo
from qmonth.photos.storage import PHOTO_VARIANTS, photo_path

from tests import photo_samples as samples
from tests.conftest import DEMO_PASSWORD, _make_app
from tests.helpers import csrf_token_from
from tests.load_support import activity_fields

FORM_KEY = re.compile(r'name="form_key" type="hidden" value="([0-9a-f]{32})"')


class Writer(threading.Thread):
    """A reporter registering activities, with a photo for every second one, until told to stop."""

    def __init__(self, app, username: str = "jinan-zj"):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.username = username
        self.stop = threading.Event()
        self.entries = 0
        self.photos = 0
        self.errors: list[str] = []
        self.photo = samples.encode(samples.photo_like(800, 600, seed=3), quality=88)

    def log_in(self) -> None:
        token = csrf_token_from(self.client.get("/login").get_data(as_text=True))
        response = self.client.post("/login", data={"username": self.username, "password": DEMO_PASSWORD,
                                                    "csrf_token": token})
        assert response.status_code == 302

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.register_one()
        except Exception as error:  # reported by the test, never lost in the thread
            self.errors.append(repr(error))

    def register_one(self) -> None:
        html = self.client.get("/activities/new").get_data(as_text=True)
        hidden = {"csrf_token": csrf_token_from(html), "form_key": FORM_KEY.search(html).group(1)}
        with_photo = self.entries % 2 == 0
        response = self.client.post("/activities/new", data={
            **hidden, **activity_fields(f"备份期间登记 {self.entries}", submit=not with_photo)})
        if response.status_code != 302:
            self.errors.append(f"POST -> {response.status_code}")
            return
        self.entries += 1
        if with_photo:
            activity_id = int(response.headers["Location"].rsplit("/", 1)[1])
            upload = self.client.post(f"/activities/{activity_id}/photos", data={
                "photo": (samples.named_stream(self.photo, "现场.jpg"), "现场.jpg")},
                headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": hidden["csrf_token"]},
                content_type="multipart/form-data")
            if upload.status_code != 200:
                self.errors.append(f"photo -> {upload.status_code}")
                return
            self.photos += 1

    def wait_for(self, photos: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.photos < photos and time.monotonic() < deadline and not self.errors:
            self.stop.wait(0.05)


def activity_count() -> int:
    return db.session.scalar(select(func.count(Activity.id)))


@pytest.fixture
def empty_database_url(database, template_db, tmp_path):
    """Where the new instance keeps its data: a fresh SQLite file, or a new empty PostgreSQL database."""
    if database == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'qmonth.db'}"
        return
    name = f"{template_db.prefix}_restored_{next(template_db.numbers)}"
    template_db.execute(f'CREATE DATABASE "{name}"')
    yield template_db.url_of(name)
    template_db.drop(name)


def test_a_backup_taken_while_a_bureau_writes_restores_whole_into_a_new_instance(
        app, tmp_path, database, empty_database_url):
    writer = Writer(app)
    writer.log_in()
    writer.start()
    writer.wait_for(photos=3)
    before = activity_count()
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backups")])
    after = activity_count()
    writer.wait_for(photos=writer.photos + 1)  # and it goes on writing after the backup
    writer.stop.set()
    writer.join(timeout=60)
    assert writer.errors == []
    assert result.exit_code == 0, result.output
    assert "backup written to" in result.output
    folder = next((tmp_path / "backups").glob("qmonth-*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["missing_files"] == []
    assert before <= manifest["counts"]["activity"] <= after
    if database == "sqlite":
        assert (folder / "qmonth.db").exists() and not (folder / "qmonth.db-wal").exists()

    restored = _make_app(tmp_path / "restored", empty_database_url)
    with restored.app_context():
        result = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code == 0, result.output
        assert "Stop the app" in result.output
        assert activity_count() == manifest["counts"]["activity"]
        assert db.session.scalar(select(func.count(Photo.id))) == manifest["counts"]["photo"] >= 3
        if database == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
        for photo in db.session.scalars(select(Photo)):
            for variant in PHOTO_VARIANTS:
                with Image.open(photo_path(photo.storage_key, variant)) as image:
                    image.load()
                    assert image.format == "JPEG"

        again = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert again.exit_code != 0
        assert "--force" in again.output
        db.session.remove()  # as the app would be: stopped, holding nothing open
        forced = restored.test_cli_runner().invoke(args=["restore", "--force", str(folder)])
        assert forced.exit_code == 0, forced.output
        db.session.remove()
        db.engine.dispose()


def test_a_damaged_backup_is_refused_before_anything_is_touched(app, tmp_path, empty_database_url):
    folder, manifest = make_backup(tmp_path / "backups")
    with open(folder / manifest["database_file"]["path"], "r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00garbage\x00")
    restored = _make_app(tmp_path / "restored", empty_database_url)
    with restored.app_context():
        result = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code != 0
        assert "damaged" in result.output
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_backup_keep_deletes_all_but_the_newest(app, tmp_path):
    parent = tmp_path / "backups"
    first = datetime(2024, 9, 20, 2, 0, tzinfo=timezone.utc)
    made = [make_backup(parent, now=first + timedelta(days=day))[0] for day in range(3)]
    assert prune_backups(parent, keep=2) == made[:1]
    assert sorted(parent.iterdir()) == made[1:]


def test_backup_and_restore_explain_themselves(app):
    runner = app.test_cli_runner()
    backup_help = runner.invoke(args=["backup", "--help"]).output
    restore_help = runner.invoke(args=["restore", "--help"]).output
    assert "consistent copy" in backup_help and "--keep" in backup_help
    assert "Stop the app first" in restore_help and "--force" in restore_help
