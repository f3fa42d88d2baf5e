"""Connections cut by the network, through a relay that resets TCP (tests/photos/relay.py):
(a) mid-body, the photo resumes from the acknowledged offset and is stored as a one-shot upload
would store it; (b) after the body, before the answer, the retry is "already received", one row."""
import functools
import uuid

import pytest
import requests
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Photo
from qmonth.photos.storage import photo_path

from tests import photo_samples as samples
from tests.helpers import csrf_token_from
from tests.photos.relay import ResettingRelay

CLOSE = {"Connection": "close"}  # one request per connection: one relay action each
JSON_UPLOAD = {"X-Requested-With": "qmonth-upload"}
CHUNK = "application/offset+octet-stream"


@functools.lru_cache(maxsize=None)
def picture(seed: int = 0) -> bytes:
    return samples.encode(samples.photo_like(1600, 1200, seed=seed), "JPEG", quality=95)


@pytest.fixture
def relay(live_server):
    relay = ResettingRelay(live_server.server_port)
    yield relay
    relay.close()


@pytest.fixture
def signed_in(live_server):
    """A requests session signed in as jinan-zj (cookies hold for 127.0.0.1 on any port)."""
    session = requests.Session()
    token = csrf_token_from(session.get(f"{live_server.url}/login").text)
    answer = session.post(f"{live_server.url}/login", allow_redirects=False,
                          data={"username": "jinan-zj", "password": "qmonth-demo", "csrf_token": token})
    assert answer.status_code == 302
    session.headers["X-CSRFToken"] = csrf_token_from(session.get(f"{live_server.url}/").text)
    return session


def count_photos(activity_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity_id))


def test_a_one_shot_upload_whose_answer_was_lost_is_already_received_on_retry(relay, signed_in, make_activity):
    activity_id = make_activity("jinan-zj").id
    relay.then("drop_answer", "pass")
    client_id, data = str(uuid.uuid4()), picture(1)

    def send():
        return signed_in.post(f"{relay.url}/activities/{activity_id}/photos", headers={**JSON_UPLOAD, **CLOSE},
                              files={"photo": ("IMG_2041.jpg", data, "image/jpeg")}, data={"client_id": client_id},
                              timeout=60)

    with pytest.raises(requests.exceptions.ConnectionError):
        send()
    assert count_photos(activity_id) == 1  # it arrived; only the answer was lost
    retry = send()
    assert retry.status_code == 200 and retry.json()["already_received"] is True
    assert relay.log == ["drop_answer", "pass"]
    photo = db.session.scalar(select(Photo).where(Photo.activity_id == activity_id))
    assert retry.json()["id"] == photo.id and photo.client_id == client_id and count_photos(activity_id) == 1


def test_a_photo_cut_mid_body_resumes_from_the_acknowledged_offset(live_server, relay, signed_in, make_activity):
    activity_id = make_activity("jinan-zj").id
    reference_id = make_activity("jinan-zj", title="对照活动").id
    data = picture(2)
    created = signed_in.post(f"{relay.url}/activities/{activity_id}/photo-uploads", headers=CLOSE,
                             data={"length": str(len(data)), "filename": "IMG_2042.jpg",
                                   "client_id": str(uuid.uuid4())}, timeout=30)
    assert created.status_code == 201, created.text
    url = relay.url + created.json()["url"]

    relay.then(("cut_request", 400 + len(data) * 2 // 5), "pass", "pass")
    with pytest.raises(requests.exceptions.ConnectionError):
        signed_in.patch(url, data=data, timeout=60,
                        headers={**CLOSE, "Content-Type": CHUNK, "Upload-Offset": "0"})
    head = signed_in.head(url, headers=CLOSE, timeout=30)
    acknowledged = int(head.headers["Upload-Offset"])
    assert 0 < acknowledged < len(data) and acknowledged <= relay.cut_after[0]
    assert count_photos(activity_id) == 0
    rest = signed_in.patch(url, data=data[acknowledged:], timeout=60,
                           headers={**CLOSE, "Content-Type": CHUNK, "Upload-Offset": str(acknowledged)})
    assert rest.status_code == 200, rest.text
    body = rest.json()
    assert body["complete"] and body["photo"]["already_received"] is False and count_photos(activity_id) == 1

    # The same bytes sent in one piece, straight to the server, make the same stored copies.
    single = signed_in.post(f"{live_server.url}/activities/{reference_id}/photos", headers=JSON_UPLOAD,
                            files={"photo": ("IMG_2042.jpg", data, "image/jpeg")}, timeout=60).json()
    resumed, reference = db.session.get(Photo, body["photo"]["id"]), db.session.get(Photo, single["id"])
    assert resumed.original_sha256 == reference.original_sha256
    for variant in ("print", "screen", "thumb"):
        assert (photo_path(resumed.storage_key, variant).read_bytes()
                == photo_path(reference.storage_key, variant).read_bytes())


def test_the_last_piece_whose_answer_was_lost_is_answered_again(relay, signed_in, make_activity):
    activity_id = make_activity("jinan-zj").id
    data = picture(3)
    url = relay.url + signed_in.post(f"{relay.url}/activities/{activity_id}/photo-uploads", headers=CLOSE,
                                     data={"length": str(len(data))}, timeout=30).json()["url"]
    relay.then("drop_answer", "pass", "pass")
    with pytest.raises(requests.exceptions.ConnectionError):
        signed_in.patch(url, data=data, timeout=60, headers={**CLOSE, "Content-Type": CHUNK, "Upload-Offset": "0"})
    head = signed_in.head(url, headers=CLOSE, timeout=30)
    assert head.headers["Upload-Offset"] == str(len(data)) and head.headers["Upload-Complete"] == "?1"
    again = signed_in.patch(url, data=b"", timeout=60,
                            headers={**CLOSE, "Content-Type": CHUNK, "Upload-Offset": str(len(data))})
    assert again.status_code == 200 and again.json()["photo"]["already_received"] is True
    assert count_photos(activity_id) == 1
