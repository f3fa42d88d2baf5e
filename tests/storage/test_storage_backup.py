"""`flask backup` and `flask restore` with the files in the local folder or in the object store."""
from __future__ import annotations

import hashlib
import io
import json
import secrets

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Attachment, Photo
from qmonth.photos.storage import PHOTO_VARIANTS, attachment_key, photo_key
from qmonth.storage import uploads

from tests import photo_samples as samples
from tests.conftest import _make_app
from tests.helpers import csrf_token_from, token
from tests.platform.test_backup import empty_database_url  # noqa: F401  (a fixture)
from tests.storage.test_storage import PDF_FILE

pytestmark = pytest.mark.xdist_group("object-store")


def upload(client, url: str, data: bytes, name: str, field: str = "photo"):
    response = client.post(url, data={field: (io.BytesIO(data), name)},
                           headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": token(client, "/")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def stored_files(photos, attachments) -> dict[str, str]:
    """key → SHA-256 of every file the rows name, read from the app's store."""
    keys = [photo_key(p.storage_key, v) for p in photos for v in PHOTO_VARIANTS]
    keys += [attachment_key(a.storage_key, a.extension) for a in attachments]
    return {key: hashlib.sha256(uploads().read_bytes(key)).hexdigest() for key in keys}


def new_instance_settings(request, kind: str) -> dict:
    if kind == "local":
        return {}
    return request.getfixturevalue("s3_server").settings(f"restored-{secrets.token_hex(6)}")


@pytest.mark.parametrize(("store_kind", "target_kind"), [("local", "local"), ("s3", "s3"), ("local", "s3")])
def test_a_backup_restores_every_file_into_a_fresh_instance(app, client, login_as, make_activity, tmp_path, request,
                                                            store_kind, target_kind, empty_database_url):  # noqa: F811
    """With S3 the backup reads the files from the object store, and the restore puts them back
    into the new instance's store; a local backup restored with STORAGE=s3 moves the files there."""
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    for seed in range(3):
        upload(client, f"/activities/{activity.id}/photos",
               samples.encode(samples.photo_like(900, 600, seed=seed), "JPEG"), f"现场{seed}.jpg")
    upload(client, f"/activities/{activity.id}/files", PDF_FILE, "活动方案.pdf", field="file")
    photos = list(db.session.scalars(select(Photo).where(Photo.activity_id == activity.id)))
    attachments = list(db.session.scalars(select(Attachment).where(Attachment.activity_id == activity.id)))
    files = stored_files(photos, attachments)
    assert len(files) == 3 * 3 + 1

    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "backups").glob("qmonth-*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["storage"] == store_kind and manifest["missing_files"] == []
    assert {entry["path"]: entry["sha256"] for entry in manifest["files"]} == files

    settings = new_instance_settings(request, target_kind)
    restored = _make_app(tmp_path / "restored", empty_database_url, **settings)
    with restored.app_context():
        assert list(uploads().list()) == []  # a fresh instance: nothing in its store yet
        result = restored.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code == 0, result.output
        assert uploads().kind == target_kind
        restored_photos = list(db.session.scalars(select(Photo)))
        restored_attachments = list(db.session.scalars(select(Attachment)))
        assert {p.storage_key for p in restored_photos} >= {p.storage_key for p in photos}
        assert stored_files([p for p in restored_photos if p.activity_id == activity.id],
                            [a for a in restored_attachments if a.activity_id == activity.id]) == files
        if target_kind == "s3":
            server = request.getfixturevalue("s3_server")
            assert len(server.keys(f"{settings['S3_PREFIX']}/uploads/")) == len(files)
            assert not (tmp_path / "restored" / "uploads" / "photos").exists()  # nothing on the local disk

        viewer = restored.test_client()
        page = viewer.get("/login").get_data(as_text=True)
        viewer.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo",
                                    "csrf_token": csrf_token_from(page)})
        for photo in photos:
            served = viewer.get(f"/photos/{photo.id}/print.jpg")
            assert served.status_code == 200
            assert hashlib.sha256(served.data).hexdigest() == files[photo_key(photo.storage_key, "print")]
        db.session.remove()  # as the app would be: stopped, holding nothing open
        again = restored.test_cli_runner().invoke(args=["restore", "--force", str(folder)])
        assert again.exit_code == 0, again.output  # files already there and whole are left as they are
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("store_kind", ["s3"])
def test_backup_and_restore_stop_with_a_clear_message_when_the_store_refuses(
        app, tmp_path, database_url, s3_server, s3_prefix, empty_database_url):  # noqa: F811
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    folder = next((tmp_path / "backups").glob("qmonth-*"))

    refused = _make_app(tmp_path / "refused", database_url,
                        **s3_server.settings(s3_prefix, S3_SECRET_KEY="not-the-secret"))
    with refused.app_context():
        result = refused.test_cli_runner().invoke(args=["backup", str(tmp_path / "more")])
        assert result.exit_code != 0 and "cannot be used" in result.output and "Forbidden" in result.output
        assert not (tmp_path / "more").exists() or not any((tmp_path / "more").iterdir())
        db.session.remove()
        db.engine.dispose()

    fresh = _make_app(tmp_path / "restored", empty_database_url,
                      **s3_server.settings(s3_prefix + "-fresh", S3_SECRET_KEY="not-the-secret"))
    with fresh.app_context():
        result = fresh.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code != 0 and "cannot be used" in result.output
        from sqlalchemy import inspect

        assert inspect(db.engine).get_table_names() == []  # the database was left alone
        db.engine.dispose()
