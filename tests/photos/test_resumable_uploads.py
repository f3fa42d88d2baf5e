"""Photos sent in pieces (qmonth/photos/resumable.py): offsets, resumption, one photo at the end."""
import functools
import hashlib
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Photo, PhotoUpload
from qmonth.photos import resumable
from qmonth.photos.services import sweep
from qmonth.photos.storage import photo_path

from tests import photo_samples as samples
from tests.helpers import set_clock
from tests.helpers import token as token_for

CHUNK = "application/offset+octet-stream"


@functools.lru_cache(maxsize=None)  # photo_like's noise is random: one picture, the same bytes each time
def picture(seed: int = 0) -> bytes:
    return samples.encode(samples.photo_like(900, 600, seed=seed), "JPEG", quality=92)


@pytest.fixture
def csrf(client):
    return lambda: token_for(client, "/")


def create(client, csrf, url, data: bytes, **fields):
    form = {"length": str(len(data)), "filename": "现场.jpg", **fields}
    return client.post(url, data=form, headers={"X-CSRFToken": csrf()})


def patch(client, csrf, url, offset: int, body: bytes, **headers):
    return client.patch(url, data=body, content_type=CHUNK,
                        headers={"X-CSRFToken": csrf(), "Upload-Offset": str(offset), **headers})


def photos_of(activity_id) -> list[Photo]:
    db.session.expire_all()
    return list(db.session.scalars(select(Photo).where(Photo.activity_id == activity_id)))


def test_a_photo_sent_in_three_pieces_is_the_photo_a_single_upload_makes(client, login_as, make_activity, csrf):
    activity, other = make_activity("jinan-zj"), make_activity("jinan-zj", title="对照活动")
    login_as("jinan-zj")
    data = picture()
    created = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data,
                     sha256=hashlib.sha256(data).hexdigest(), taken_at="2024:09:10 09:30:00")
    assert created.status_code == 201, created.get_data(as_text=True)
    url = created.get_json()["url"]
    assert created.headers["Location"] == url and created.get_json()["offset"] == 0
    head = client.head(url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    third = len(data) // 3
    offset = 0
    for piece in (data[:third], data[third:2 * third]):
        answer = patch(client, csrf, url, offset, piece)
        offset += len(piece)
        assert answer.status_code == 200 and answer.get_json() == {
            "ok": True, "url": url, "offset": offset, "length": len(data), "complete": False}
        assert answer.headers["Upload-Offset"] == str(offset)
        assert photos_of(activity.id) == []
    last = patch(client, csrf, url, offset, data[2 * third:])
    body = last.get_json()
    assert last.status_code == 200 and body["complete"] and body["photo"]["already_received"] is False
    [photo] = photos_of(activity.id)
    assert body["photo"]["id"] == photo.id and f'id="photo-{photo.id}"' in body["photo"]["html"]
    assert photo.taken_at == datetime(2024, 9, 10, 1, 30, tzinfo=timezone.utc)
    assert photo.original_sha256 == hashlib.sha256(data).hexdigest() and photo.original_name == "现场.jpg"
    # The same bytes in one multipart request make the same stored copies.
    single = client.post(f"/activities/{other.id}/photos", data={"photo": (io.BytesIO(data), "a.jpg")},
                         headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": csrf()},
                         content_type="multipart/form-data").get_json()
    twin = db.session.get(Photo, single["id"])
    for variant in ("print", "screen", "thumb"):
        assert photo_path(photo.storage_key, variant).read_bytes() == photo_path(twin.storage_key, variant).read_bytes()
    assert not resumable.incoming_path(url.rsplit("/", 1)[1]).exists()
    done = client.head(url)
    assert done.headers["Upload-Offset"] == str(len(data)) and done.headers["Upload-Complete"] == "?1"


def test_a_lost_last_answer_is_answered_again_without_a_second_photo(client, login_as, make_activity, csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(1)
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data).get_json()["url"]
    first = patch(client, csrf, url, 0, data).get_json()
    again = patch(client, csrf, url, len(data), b"").get_json()
    assert again["complete"] and again["photo"]["id"] == first["photo"]["id"] and again["photo"]["already_received"]
    status = client.get(url).get_json()
    assert status["complete"] and status["photo"]["id"] == first["photo"]["id"]
    assert len(photos_of(activity.id)) == 1


def test_creating_again_with_the_same_client_id_resumes_or_answers_with_the_photo(client, login_as, make_activity,
                                                                                   csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data, client_id = picture(2), str(uuid.uuid4())
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data, client_id=client_id).get_json()["url"]
    patch(client, csrf, url, 0, data[:1000])
    again = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data, client_id=client_id)
    assert again.status_code == 200 and again.get_json()["url"] == url and again.get_json()["offset"] == 1000
    other = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data + b"x", client_id=client_id)
    assert other.status_code == 409 and "该照片编号已用于另一个上传" in other.get_json()["error"]
    patch(client, csrf, url, 1000, data[1000:])
    finished = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data, client_id=client_id).get_json()
    assert finished["complete"] and finished["photo"]["already_received"]
    assert db.session.scalar(select(func.count(PhotoUpload.id))) == 1 and len(photos_of(activity.id)) == 1


def test_a_wrong_offset_is_refused_with_the_acknowledged_one(client, login_as, make_activity, csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(3)
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data).get_json()["url"]
    patch(client, csrf, url, 0, data[:500])
    for offset in (0, 700):
        wrong = patch(client, csrf, url, offset, data[offset:offset + 100])
        assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == "500"
        assert wrong.get_json() == {"ok": False, "offset": 500,
                                    "error": "上传位置不一致：服务器已收到 500 字节，请从该处继续。"}
    too_much = patch(client, csrf, url, 500, data[500:] + b"extra")
    assert too_much.status_code == 409 and "超出照片的长度" in too_much.get_json()["error"]
    assert client.head(url).headers["Upload-Offset"] == "500"


@pytest.mark.parametrize("headers, content_type, status, message", [
    ({}, CHUNK, 422, "请求缺少有效的 Upload-Offset"),
    ({"Upload-Offset": "-1"}, CHUNK, 422, "请求缺少有效的 Upload-Offset"),
    ({"Upload-Offset": "0"}, "application/octet-stream", 415, "请以 application/offset+octet-stream 发送"),
])
def test_malformed_pieces_get_a_message(client, login_as, make_activity, csrf, headers, content_type, status, message):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture()).get_json()["url"]
    answer = client.patch(url, data=b"abc", content_type=content_type, headers={"X-CSRFToken": csrf(), **headers})
    assert answer.status_code == status and answer.get_json()["error"].startswith(message)


def test_a_checksum_mismatch_starts_over_and_a_non_image_is_dropped(client, login_as, make_activity, csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    data = picture(4)
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", data, sha256="0" * 64).get_json()["url"]
    bad = patch(client, csrf, url, 0, data)
    assert bad.status_code == 422 and bad.get_json()["offset"] == 0 and "与校验值不符" in bad.get_json()["error"]
    assert client.head(url).headers["Upload-Offset"] == "0" and photos_of(activity.id) == []
    html = samples.HTML_PAGE
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", html).get_json()["url"]
    refused = patch(client, csrf, url, 0, html)
    assert refused.status_code == 422 and "“现场.jpg”未能上传：文件不是有效的图片" in refused.get_json()["error"]
    assert client.head(url).status_code == 404 and photos_of(activity.id) == []


@pytest.mark.parametrize("fields, message", [
    ({"length": "0"}, "请提供照片的字节数"),
    ({"length": "abc"}, "请提供照片的字节数"),
    ({"length": str(21 * 1024 * 1024)}, "单张照片不能超过 20 MB"),
    ({"sha256": "xyz"}, "照片校验值格式不正确"),
    ({"client_id": "1234"}, "照片编号格式不正确"),
    ({"taken_at": "明天"}, "拍摄时间格式不正确"),
])
def test_bad_creations_are_refused_with_a_message(client, login_as, make_activity, csrf, fields, message):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    answer = client.post(f"/activities/{activity.id}/photo-uploads", data={"length": "1000", **fields},
                         headers={"X-CSRFToken": csrf()})
    assert answer.status_code == 422 and message in answer.get_json()["error"]
    assert db.session.scalar(select(func.count(PhotoUpload.id))) == 0


def test_open_uploads_are_limited_and_expire_after_a_day(app, client, login_as, make_activity, csrf, monkeypatch):
    monkeypatch.setattr(resumable, "MAX_OPEN_UPLOADS_PER_USER", 2)
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    urls = [create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture(seed)).get_json()["url"]
            for seed in range(2)]
    patch(client, csrf, urls[0], 0, picture(0)[:100])
    third = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture(2))
    assert third.status_code == 422 and "已有 2 张照片正在上传" in third.get_json()["error"]
    # A day later (the sign-in would have ended: the uploads are made older instead).
    for upload in db.session.scalars(select(PhotoUpload)):
        upload.created_at -= timedelta(hours=25)
        upload.expires_at -= timedelta(hours=25)
    db.session.commit()
    assert client.head(urls[0]).status_code == 404  # expired, though not yet removed
    assert create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture(2)).status_code == 201
    assert client.head(urls[0]).status_code == 404
    assert not resumable.incoming_path(urls[0].rsplit("/", 1)[1]).exists()
    assert db.session.scalar(select(func.count(PhotoUpload.id))) == 1
    set_clock(app, datetime(2024, 9, 21, 11, 0, tzinfo=timezone.utc))  # the last one is a day old
    assert sweep()["resumable"] == 1 and db.session.scalar(select(func.count(PhotoUpload.id))) == 0


def test_a_full_activity_is_refused_before_any_byte(client, login_as, make_activity, csrf, monkeypatch):
    from qmonth.photos import services as photo_services

    monkeypatch.setattr(photo_services, "MAX_PHOTOS_PER_ACTIVITY", 1)
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture(0)).get_json()["url"]
    assert patch(client, csrf, url, 0, picture(0)).get_json()["complete"]
    full = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture(1))
    assert full.status_code == 422 and "最多上传 1 张照片" in full.get_json()["error"]


def test_uploads_belong_to_whoever_started_them(client, login_as, make_activity, csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture()).get_json()["url"]
    for username in ("jinan-zj-admin", "qingdao-zj", "province"):
        login_as(username)
        assert client.head(url).status_code == 404
        assert patch(client, csrf, url, 0, picture()).status_code == 404
    login_as("qingdao-zj")
    assert create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture()).status_code == 404
    assert photos_of(activity.id) == [] and client.get("/photo-uploads/not-a-token").status_code == 404


def test_pieces_need_the_csrf_token(client, login_as, make_activity, csrf):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    url = create(client, csrf, f"/activities/{activity.id}/photo-uploads", picture()).get_json()["url"]
    forged = client.patch(url, data=picture(), content_type=CHUNK, headers={"Upload-Offset": "0"})
    assert forged.status_code == 400 and client.head(url).headers["Upload-Offset"] == "0"


def test_staged_forms_take_pieces_too(client, login_as, csrf):
    login_as("jinan-zj")
    key = "cd" * 16
    url = create(client, csrf, f"/activities/staged/{key}/photo-uploads", picture()).get_json()["url"]
    body = patch(client, csrf, url, 0, picture()).get_json()
    photo = db.session.get(Photo, body["photo"]["id"])
    assert photo.staging_key == key and photo.activity_id is None


def test_a_repeat_at_the_photo_limit_is_already_received_not_full(client, login_as, make_activity, csrf, monkeypatch):
    from qmonth.photos import services as photo_services

    monkeypatch.setattr(photo_services, "MAX_PHOTOS_PER_ACTIVITY", 2)
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    uploads = f"/activities/{activity.id}/photo-uploads"
    ids = [str(uuid.uuid4()) for _ in range(3)]
    first = create(client, csrf, uploads, picture(0), client_id=ids[0]).get_json()["url"]
    assert patch(client, csrf, first, 0, picture(0)).get_json()["complete"]
    last = create(client, csrf, uploads, picture(1), client_id=ids[1]).get_json()["url"]
    made = patch(client, csrf, last, 0, picture(1)).get_json()["photo"]
    # The activity is full; the phone, whose answer was lost, creates the last photo's upload again.
    again = create(client, csrf, uploads, picture(1), client_id=ids[1])
    body = again.get_json()
    assert again.status_code == 200, body
    assert body["complete"] and body["photo"]["already_received"] and body["photo"]["id"] == made["id"]
    # A photo that is really a third one is refused as one too many.
    third = create(client, csrf, uploads, picture(2), client_id=ids[2])
    assert third.status_code == 422 and "最多上传 2 张照片" in third.get_json()["error"]
    assert len(photos_of(activity.id)) == 2
