"""Photos sent in pieces with each store (qmonth/photos/incoming.py): with object storage the pieces
wait in the store, never on the web machine's disk, and one request at a time works on an upload."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import delete, func, select

from qmonth.extensions import db
from qmonth.models import Photo, PhotoUpload
from qmonth.photos import incoming
from qmonth.photos.services import sweep
from qmonth.storage import uploads

from tests import photo_samples as samples
from tests.helpers import csrf_token_from, token
from tests.photos.relay import ResettingRelay

pytestmark = pytest.mark.xdist_group("object-store")

CHUNK = "application/offset+octet-stream"
CLOSE = {"Connection": "close"}  # one request per connection: one relay action each


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


def test_a_piece_cut_mid_body_keeps_what_arrived_in_the_store(live_server, make_activity, store_kind):
    """Through a relay that resets the connection (tests/photos/relay.py): what arrived before the
    cut is acknowledged, held in the store (s3) or the local file, and the rest completes it."""
    activity_id = make_activity("jinan-zj").id
    with live_server.app.app_context():
        relay = ResettingRelay(live_server.server_port)
        try:
            session = signed_in_session(live_server.url)
            data = samples.encode(samples.photo_like(1600, 1200, seed=5), "JPEG", quality=95)
            created = session.post(f"{relay.url}/activities/{activity_id}/photo-uploads", headers=CLOSE,
                                   data={"length": str(len(data)), "filename": "IMG_2043.jpg"}, timeout=30)
            url = relay.url + created.json()["url"]
            relay.then(("cut_request", 400 + len(data) * 2 // 5), "pass", "pass")
            with pytest.raises(requests.exceptions.ConnectionError):
                session.patch(url, data=data, timeout=60,
                              headers={**CLOSE, "Content-Type": CHUNK, "Upload-Offset": "0"})
            acknowledged = int(session.head(url, headers=CLOSE, timeout=30).headers["Upload-Offset"])
            assert 0 < acknowledged < len(data)
            if store_kind == "s3":
                [piece] = list(uploads().list("incoming/"))
                assert piece.key.endswith("/000000000000.chunk") and piece.size == acknowledged
            rest = session.patch(url, data=data[acknowledged:], timeout=60, headers={
                **CLOSE, "Content-Type": CHUNK, "Upload-Offset": str(acknowledged)})
            assert rest.status_code == 200 and rest.json()["complete"], rest.text
            photo = db.session.get(Photo, rest.json()["photo"]["id"])
            assert photo.original_sha256 == hashlib.sha256(data).hexdigest()
            if store_kind == "s3":
                assert list(uploads().list("incoming/")) == []
        finally:
            relay.close()


def signed_in_session(base_url: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{base_url}/login", allow_redirects=False, data={
        "username": "jinan-zj", "password": "qmonth-demo",
        "csrf_token": csrf_token_from(session.get(f"{base_url}/login").text)})
    assert answer.status_code == 302
    session.headers["X-CSRFToken"] = csrf_token_from(session.get(f"{base_url}/").text)
    return session


def test_the_sweeper_removes_pieces_whose_upload_is_gone(app, client, login_as, make_activity, store_kind):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(6)
    kept_url = create(client, activity.id, data).get_json()["url"]
    lost_url = create(client, activity.id, picture(7)).get_json()["url"]
    patch(client, kept_url, 0, data[:500])
    patch(client, lost_url, 0, picture(7)[:500])
    lost_token = lost_url.rsplit("/", 1)[1]
    # A crash between the row's removal and its pieces' (the row is committed first).
    db.session.execute(delete(PhotoUpload).where(PhotoUpload.token == lost_token))
    db.session.commit()
    assert sweep(grace=timedelta(seconds=-5))["orphans"] >= 1  # with SQLite and s3, its lock file too
    assert not [name for name in waiting_pieces(app, store_kind) if lost_token in name]
    assert client.head(kept_url).headers["Upload-Offset"] == "500"
