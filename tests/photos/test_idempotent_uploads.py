"""A photo sent again (retry after a lost answer, a second tab, a re-sent outbox) is stored once;
capture and receipt times are kept and shown."""
import functools
import io
import re
import threading
import uuid
from datetime import datetime, timezone

import pytest
import requests
from PIL import ExifTags, Image
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Attachment, Photo
from qmonth.photos import services as photo_services

from tests import photo_samples as samples
from tests.helpers import csrf_token_from
from tests.helpers import token as token_for

JSON_UPLOAD = {"X-Requested-With": "qmonth-upload"}


@pytest.fixture
def token(client):
    return lambda path="/": token_for(client, path)


@functools.lru_cache(maxsize=None)  # photo_like's noise is random: one picture, the same bytes each time
def jpeg(seed: int = 0, *, taken: str | None = None, offset: str | None = None) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    if taken:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    return samples.encode(samples.photo_like(320, 240, seed=seed), "JPEG", exif=exif.tobytes())


def send(client, activity_id, data: bytes, name: str, token: str, **fields):
    return client.post(f"/activities/{activity_id}/photos", data={"photo": (io.BytesIO(data), name), **fields},
                       headers={**JSON_UPLOAD, "X-CSRFToken": token}, content_type="multipart/form-data")


def photo_count(activity_id) -> int:
    return db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity_id))


def test_a_repeated_upload_is_already_received_and_stored_once(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    first = send(client, activity.id, jpeg(), "IMG_1.jpg", token(), client_id=client_id)
    again = send(client, activity.id, jpeg(), "IMG_1.jpg", token(), client_id=client_id.upper())
    assert first.status_code == again.status_code == 200
    assert first.get_json()["already_received"] is False and again.get_json()["already_received"] is True
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["html"] == first.get_json()["html"]
    assert photo_count(activity.id) == 1
    assert db.session.get(Photo, first.get_json()["id"]).client_id == client_id


def test_a_repeat_without_javascript_says_it_was_received(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    for _ in range(2):
        response = client.post(f"/activities/{activity.id}/photos", content_type="multipart/form-data",
                               data={"photo": (io.BytesIO(jpeg()), "IMG_1.jpg"), "client_id": client_id,
                                     "csrf_token": token()})
        assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已收到，无需重复上传：IMG_1.jpg" in page
    assert photo_count(activity.id) == 1


def test_the_same_id_with_another_picture_is_refused_with_409(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    assert send(client, activity.id, jpeg(1), "a.jpg", token(), client_id=client_id).status_code == 200
    other = send(client, activity.id, jpeg(2), "b.jpg", token(), client_id=client_id)
    assert other.status_code == 409
    assert other.get_json()["error"] == ("“b.jpg”未能上传：该照片编号已用于另一张照片（“a.jpg”），"
                                         "请刷新页面后重新选择照片。")
    assert photo_count(activity.id) == 1


def test_client_ids_are_per_account(client, login_as, make_activity, token):
    mine, theirs = make_activity("jinan-zj"), make_activity("qingdao-zj")
    client_id = str(uuid.uuid4())
    login_as("jinan-zj")
    assert send(client, mine.id, jpeg(), "a.jpg", token(), client_id=client_id).get_json()["already_received"] is False
    login_as("qingdao-zj")
    body = send(client, theirs.id, jpeg(), "a.jpg", token(), client_id=client_id).get_json()
    assert body["ok"] and body["already_received"] is False
    assert photo_count(mine.id) == photo_count(theirs.id) == 1


@pytest.mark.parametrize("client_id", ["not-a-uuid", "1" * 36, "<script>"])
def test_a_malformed_client_id_is_refused(client, login_as, make_activity, token, client_id):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = send(client, activity.id, jpeg(), "a.jpg", token(), client_id=client_id)
    assert response.status_code == 422 and response.get_json()["error"] == "照片编号格式不正确，请刷新页面后重新上传。"
    assert photo_count(activity.id) == 0


def test_a_repeat_of_the_last_photo_is_not_refused_as_one_too_many(client, login_as, make_activity, token,
                                                                     monkeypatch):
    monkeypatch.setattr(photo_services, "MAX_PHOTOS_PER_ACTIVITY", 2)
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert send(client, activity.id, jpeg(1), "1.jpg", token(), client_id=ids[0]).status_code == 200
    last = send(client, activity.id, jpeg(2), "2.jpg", token(), client_id=ids[1]).get_json()
    repeat = send(client, activity.id, jpeg(2), "2.jpg", token(), client_id=ids[1])
    assert repeat.status_code == 200 and repeat.get_json()["id"] == last["id"] and repeat.get_json()["already_received"]
    third = send(client, activity.id, jpeg(3), "3.jpg", token(), client_id=ids[2])
    assert third.status_code == 422 and "最多上传 2 张照片" in third.get_json()["error"]
    assert photo_count(activity.id) == 2


def test_the_same_picture_twice_on_one_activity_is_refused(client, login_as, make_activity, token):
    activity, other = make_activity("jinan-zj"), make_activity("jinan-zj", title="另一项活动")
    login_as("jinan-zj")
    assert send(client, activity.id, jpeg(), "现场.jpg", token(), client_id=str(uuid.uuid4())).status_code == 200
    twin = send(client, activity.id, jpeg(), "副本.jpg", token(), client_id=str(uuid.uuid4()))
    assert twin.status_code == 422
    assert twin.get_json()["error"] == "“副本.jpg”未能上传：这张照片已上传到本活动（与“现场.jpg”完全相同），无需重复上传。"
    # Another activity may show the same picture.
    assert send(client, other.id, jpeg(), "现场.jpg", token()).status_code == 200
    assert photo_count(activity.id) == photo_count(other.id) == 1


def test_capture_time_comes_from_the_original_and_receipt_time_from_the_server(client, login_as, make_activity,
                                                                                 token):
    activity = make_activity("jinan-zj")  # held on 10 September 2024
    login_as("jinan-zj")
    body = send(client, activity.id, jpeg(taken="2024:09:10 10:12:00"), "a.jpg", token(),
                taken_at="2024:09:01 08:00:00").get_json()  # the original's own EXIF wins
    photo = db.session.get(Photo, body["id"])
    assert photo.taken_at == datetime(2024, 9, 10, 2, 12, tzinfo=timezone.utc)
    assert body["taken_at"] == "2024-09-10T02:12:00+00:00"
    assert photo.received_at is not None and abs((photo.received_at - photo.created_at).total_seconds()) < 5
    # A picture shrunk in the browser has no EXIF left: the time the browser read is kept.
    shrunk = send(client, activity.id, jpeg(1), "b.jpg", token(), taken_at="2024-09-10T09:30:00+08:00").get_json()
    assert db.session.get(Photo, shrunk["id"]).taken_at == datetime(2024, 9, 10, 1, 30, tzinfo=timezone.utc)
    # An offset in the original is honoured.
    offset = send(client, activity.id, jpeg(2, taken="2024:09:10 10:00:00", offset="+09:00"), "c.jpg", token())
    assert db.session.get(Photo, offset.get_json()["id"]).taken_at == datetime(2024, 9, 10, 1, 0, tzinfo=timezone.utc)


def test_capture_time_unknown_or_outside_the_activity_is_shown(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")  # 10 September 2024; the tests' clock: 20 September 10:00
    login_as("jinan-zj")
    send(client, activity.id, jpeg(1), "微信图片.jpg", token(), taken_at="0000:00:00 00:00:00")
    send(client, activity.id, jpeg(2, taken="2024:09:10 10:12:00"), "现场.jpg", token())
    send(client, activity.id, jpeg(3, taken="2024:08:01 09:00:00"), "旧照.jpg", token())
    page = re.sub(r"<[^>]+>", "", client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    photos = {p.original_name: p for p in db.session.scalars(select(Photo).where(Photo.activity_id == activity.id))}
    assert photos["微信图片.jpg"].taken_at is None
    received = photos["现场.jpg"].received_at.astimezone(samples_zone())
    assert f"拍摄 9月10日 10:12 · 上传 {received.month}月{received.day}日 {received:%H:%M}" in page
    assert "拍摄时间不详 · 上传" in page
    assert page.count("拍摄日期不在活动日期内") == 1 and "拍摄 8月1日 09:00" in page


def samples_zone():
    from qmonth.timeutil import LOCAL_TZ
    return LOCAL_TZ


@pytest.mark.parametrize("taken_at", ["yesterday", "2024-09-10 25:00:00", "2024-09-10T10:00", "9" * 60])
def test_a_malformed_capture_time_is_refused_with_a_message(client, login_as, make_activity, token, taken_at):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = send(client, activity.id, jpeg(), "a.jpg", token(), taken_at=taken_at)
    assert response.status_code == 422 and response.get_json()["error"].startswith("拍摄时间格式不正确")
    assert photo_count(activity.id) == 0


def _signed_in_session(server, username: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    login_token = csrf_token_from(session.get(f"{server.url}/login").text)
    answer = session.post(f"{server.url}/login", data={"username": username, "password": "qmonth-demo",
                                                       "csrf_token": login_token}, allow_redirects=False)
    assert answer.status_code == 302
    return session, csrf_token_from(session.get(f"{server.url}/").text)


def test_two_racing_repeats_make_one_row(live_server, make_activity, monkeypatch):
    """Both requests pass the first look for the id before either has written its row: the unique
    index lets one in, and the other answers with that one's photo."""
    activity_id = make_activity("jinan-zj").id
    session, csrf = _signed_in_session(live_server, "jinan-zj")
    both_decoded = threading.Barrier(2, timeout=20)
    process = photo_services.process_photo

    def process_then_wait(*args, **kwargs):
        processed = process(*args, **kwargs)
        both_decoded.wait()
        return processed

    monkeypatch.setattr(photo_services, "process_photo", process_then_wait)
    client_id, data, answers = str(uuid.uuid4()), jpeg(), []

    def post():
        answers.append(session.post(f"{live_server.url}/activities/{activity_id}/photos",
                                    files={"photo": ("a.jpg", data, "image/jpeg")}, data={"client_id": client_id},
                                    headers={**JSON_UPLOAD, "X-CSRFToken": csrf}, timeout=60))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert bodies[0]["id"] == bodies[1]["id"]
    assert sorted(b["already_received"] for b in bodies) == [False, True]
    db.session.expire_all()
    assert photo_count(activity_id) == 1
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.client_id == client_id)) == 1


def test_a_repeat_whose_twin_committed_after_the_first_look_is_already_received(client, login_as, make_activity,
                                                                                  token, monkeypatch):
    """The race CI met on PostgreSQL: the racing twin commits after this request looked the id up
    and before it checked for a byte-identical picture. That picture is this very upload: the
    answer is "already received", not "the same picture is on this activity"."""
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    client_id = str(uuid.uuid4())
    first = send(client, activity.id, jpeg(), "IMG_1.jpg", token(), client_id=client_id)
    monkeypatch.setattr(photo_services, "photo_with_client_id", lambda user, client_id: None)
    again = send(client, activity.id, jpeg(), "IMG_1.jpg", token(), client_id=client_id)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["already_received"] is True and again.get_json()["id"] == first.get_json()["id"]
    other_id = send(client, activity.id, jpeg(), "IMG_2.jpg", token(), client_id=str(uuid.uuid4()))
    assert other_id.status_code == 422 and "完全相同" in other_id.get_json()["error"]
    assert photo_count(activity.id) == 1


# Files (videos, documents): no client id; the same bytes again from the same user on the same
# activity or staged form is a retry whose answer was lost, answered with the first row.

PDF = b"%PDF-1.7\n%....\n%%EOF\n"


def send_file(client, path: str, data: bytes, name: str, token: str):
    return client.post(path, data={"file": (io.BytesIO(data), name)}, headers={**JSON_UPLOAD, "X-CSRFToken": token},
                       content_type="multipart/form-data")


def file_count(**where) -> int:
    query = select(func.count(Attachment.id))
    for name, value in where.items():
        query = query.where(getattr(Attachment, name) == value)
    return db.session.scalar(query)


def test_a_file_sent_again_is_already_received_and_stored_once(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    other = make_activity("jinan-zj", title="另一项活动")
    login_as("jinan-zj")
    first = send_file(client, f"/activities/{activity.id}/files", PDF, "活动方案.pdf", token())
    again = send_file(client, f"/activities/{activity.id}/files", PDF, "活动方案.pdf", token())
    assert first.status_code == again.status_code == 200
    assert first.get_json()["already_received"] is False and again.get_json()["already_received"] is True
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["html"] == first.get_json()["html"]
    assert file_count(activity_id=activity.id) == 1
    # Another file, or the same file on another activity, is stored.
    assert send_file(client, f"/activities/{activity.id}/files", PDF + b"\n", "修订版.pdf", token()).status_code == 200
    elsewhere = send_file(client, f"/activities/{other.id}/files", PDF, "活动方案.pdf", token())
    assert elsewhere.status_code == 200 and elsewhere.get_json()["already_received"] is False
    assert file_count(activity_id=activity.id) == 2 and file_count(activity_id=other.id) == 1
    # A staged form: the same.
    key = "cd" * 16
    for _ in range(2):
        assert send_file(client, f"/activities/staged/{key}/files", PDF, "方案.pdf", token()).status_code == 200
    assert file_count(staging_key=key) == 1


def test_a_repeated_tenth_file_is_already_received_not_refused(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    for n in range(10):
        response = send_file(client, f"/activities/{activity.id}/files", PDF + str(n).encode(), f"{n}.pdf", token())
        assert response.status_code == 200
    again = send_file(client, f"/activities/{activity.id}/files", PDF + b"9", "9.pdf", token())
    assert again.status_code == 200 and again.get_json()["already_received"] is True
    assert file_count(activity_id=activity.id) == 10


def test_the_same_file_twice_in_a_form_without_javascript_is_stored_once(client, login_as, make_activity):
    from tests.activities.test_activity_form import form_page, valid_fields

    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    _html, csrf, _key = form_page(client, f"/activities/{activity.id}/edit")
    response = client.post(f"/activities/{activity.id}/edit", content_type="multipart/form-data", data={
        "csrf_token": csrf, **valid_fields(),
        "files": [(io.BytesIO(PDF), "方案.pdf"), (io.BytesIO(PDF), "方案（副本）.pdf")]})
    assert response.status_code == 302
    db.session.expire_all()
    assert file_count(activity_id=activity.id) == 1
