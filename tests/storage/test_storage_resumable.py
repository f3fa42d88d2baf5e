"""Photos sent in pieces with each store (qmonth/photos/incoming.py): with object storage the pieces
wait in the store, never on the web machine's disk, and one request at a time works on an upload."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Photo, PhotoUpload
from qmonth.photos import incoming
from qmonth.storage import uploads

from tests import photo_samples as samples
from tests.helpers import token

pytestmark = pytest.mark.xdist_group("object-store")

CHUNK = "application/offset+octet-stream"


def picture(seed: int) -> bytes:
    return samples.encode(samples.photo_like(800, 600, seed=seed), "JPEG", quality=90)


def create(client, activity_id: int, data: bytes, **fields):
    return client.post(f"/activities/{activity_id}/photo-uploads", headers={"X-CSRFToken": token(client, "/")},
                       data={"length": str(len(data)), "filename": "现场.jpg", **fields})


def patch(client, url: str, offset: int, body: bytes):
    return client.patch(url, data=body, content_type=CHUNK,
                        headers={"X-CSRFToken": token(client, "/"), "Upload-Offset": str(offset)})


def waiting_pieces(app, store_kind: str) -> list[str]:
    """Where the received bytes wait: objects in the store, or files in the upload folder."""
    if store_kind == "s3":
        return [item.key for item in uploads().list("incoming/")]
    folder = Path(app.config["UPLOAD_DIR"]) / "incoming"
    return sorted(path.name for path in folder.glob("*") if path.is_file()) if folder.is_dir() else []


def test_a_photo_sent_in_pieces_waits_in_the_store_and_is_made_once(app, client, login_as, make_activity, store_kind):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(1)
    created = create(client, activity.id, data, sha256=hashlib.sha256(data).hexdigest())
    url = created.get_json()["url"]
    half = len(data) // 2
    assert patch(client, url, 0, data[:half]).get_json()["offset"] == half
    upload_token = url.rsplit("/", 1)[1]
    if store_kind == "s3":
        assert waiting_pieces(app, store_kind) == [f"incoming/{upload_token}/000000000000.chunk"]
        # No byte on this machine's disk (on SQLite, one machine, an empty lock file).
        on_disk = [path for path in Path(app.config["UPLOAD_DIR"]).rglob("*") if path.is_file()]
        assert [path for path in on_disk if path.stat().st_size] == []
    else:
        assert waiting_pieces(app, store_kind) == [f"{upload_token}.upload"]
    assert client.head(url).headers["Upload-Offset"] == str(half)
    behind = patch(client, url, 10, data[10:])
    assert behind.status_code == 409 and behind.get_json()["offset"] == half
    assert "服务器已收到" in behind.get_json()["error"]
    last = patch(client, url, half, data[half:])
    assert last.status_code == 200 and last.get_json()["complete"]
    photo = db.session.get(Photo, last.get_json()["photo"]["id"])
    assert photo.activity_id == activity.id and photo.original_sha256 == hashlib.sha256(data).hexdigest()
    assert waiting_pieces(app, store_kind) == []


def test_pieces_that_do_not_match_the_hash_are_dropped_and_the_upload_starts_again(
        app, client, login_as, make_activity, store_kind):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(2)
    url = create(client, activity.id, data, sha256=hashlib.sha256(b"other").hexdigest()).get_json()["url"]
    patch(client, url, 0, data[:1000])
    refused = patch(client, url, 1000, data[1000:])
    assert refused.status_code == 422 and "校验值不符" in refused.get_json()["error"]
    assert refused.get_json()["offset"] == 0 and client.head(url).headers["Upload-Offset"] == "0"
    assert [name for name in waiting_pieces(app, store_kind) if name.endswith(".chunk")] == []
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0


def test_a_piece_sent_while_another_request_holds_the_upload_is_refused(
        app, client, login_as, make_activity, store_kind):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(3)
    url = create(client, activity.id, data).get_json()["url"]
    upload_token = url.rsplit("/", 1)[1]
    with incoming.locked(upload_token) as held:  # as a request on another worker or machine would
        assert held is not None
        busy = patch(client, url, 0, data)
        assert busy.status_code == 409 and "仍在接收" in busy.get_json()["error"]
    assert patch(client, url, 0, data).get_json()["complete"]
    assert db.session.scalar(select(func.count(PhotoUpload.id)).where(PhotoUpload.photo_id.is_not(None))) == 1
