"""Workers killed in the middle of writes: every acknowledged entry survives, the
database stays sound, and the sweeper clears what the dead workers left behind."""
from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Photo
from qmonth.photos.storage import PHOTO_VARIANTS, TEMP_SUFFIX, photo_path

from tests.load_support import GunicornServer
from tests.concurrency.test_concurrency import TITLE_PREFIX, integrity_check, run_load, site_photo, stored_entries  # noqa: F401

# About 220 entries, half with a photo, on the 2-core build machine (forty seconds wrote
# 1,109 and 546, twenty-four 562 and 272, with the same three kills): workers are killed
# while they write either way. Each kill waits for the new workers to serve (1-2 s).
CRASH_LOAD_SECONDS = 15
KILL_AFTER = (3, 7, 11)  # seconds into the load


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def age_files(folder: Path, minutes: float) -> None:
    """Make every file look `minutes` old: the sweeper runs later than the crash."""
    then = time.time() - minutes * 60
    for path in files_under(folder):
        os.utime(path, (then, then))


@pytest.mark.slow
@pytest.mark.sqlite_only("SQLite recovery after killed workers")
def test_acknowledged_entries_survive_workers_killed_three_times(app, instance_dir, site_photo):
    server = GunicornServer(instance_dir, database_url=app.config["SQLALCHEMY_DATABASE_URI"], workers=4)
    kills = []

    def kill_three_times(stop_at):
        started = time.monotonic()
        for moment in KILL_AFTER:
            time.sleep(max(0, started + moment - time.monotonic()))
            assert time.monotonic() < stop_at - 2, "a kill would come after the load: nothing to interrupt"
            kills.append(server.kill_workers())
            server.wait_until_serving()  # the master starts new workers

    with server:
        # A photo for every second entry: more chances to kill a worker while it writes files.
        ledger = run_load(server, site_photo, CRASH_LOAD_SECONDS, retry_broken=True, photo_every=2,
                          during=kill_three_times)

    print(f"{len(ledger.entries)} entries, {len(ledger.photos)} photos, {ledger.broken} broken requests retried")
    assert [len(pids) for pids in kills] == [4, 4, 4]
    assert ledger.errors == []
    assert ledger.entries

    stored = stored_entries()
    titles = Counter(title for _id, title, _unit, _state in stored)
    assert [title for title, count in titles.items() if count > 1] == []
    stored_ids = {title: activity_id for activity_id, title, _unit, _state in stored}
    # Every retried POST ended in an answer, so the clients' ledger is the whole truth.
    assert stored_ids == ledger.entries
    stored_photos = dict(db.session.execute(select(Photo.id, Photo.activity_id)).all())
    assert all(stored_photos.get(photo_id) == activity_id for photo_id, activity_id in ledger.photos.items())
    assert integrity_check() == ["ok"]
    for photo in db.session.scalars(select(Photo)):
        assert all(photo_path(photo.storage_key, variant).exists() for variant in PHOTO_VARIANTS), photo.id

    uploads = Path(app.config["UPLOAD_DIR"])
    age_files(uploads, minutes=11)
    result = app.test_cli_runner().invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert [p for p in files_under(uploads) if p.name.endswith(TEMP_SUFFIX)] == []
    keys = set(db.session.scalars(select(Photo.storage_key)))
    photo_files = files_under(uploads / "photos") if (uploads / "photos").exists() else []
    assert sorted(p.name for p in photo_files) == sorted(
        f"{key}-{variant}.jpg" for key in keys for variant in PHOTO_VARIANTS)
    # Werkzeug spools large uploads to unlinked temporary files: nothing may remain in TMPDIR.
    assert files_under(server.temp_dir) == []


def test_the_sweeper_spares_a_fresh_upload_whose_row_is_not_committed_yet(app):
    """Files are written before their row is committed; a sweep in between must not take them."""
    key = "ab" * 16
    in_flight = [photo_path(key, variant) for variant in PHOTO_VARIANTS]
    for path in in_flight:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
    half_written = in_flight[0].with_name(f"{in_flight[0].name}.1234abcd{TEMP_SUFFIX}")
    half_written.write_bytes(b"jp")

    runner = app.test_cli_runner()
    assert runner.invoke(args=["photos", "sweep"]).exit_code == 0
    assert all(path.exists() for path in in_flight) and half_written.exists()

    age_files(Path(app.config["UPLOAD_DIR"]), minutes=11)  # the upload died: no row ever came
    result = runner.invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in in_flight) and not half_written.exists()
    assert "removed 3 orphan files, 1 temporary files" in result.output
