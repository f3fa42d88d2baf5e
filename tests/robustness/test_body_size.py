"""Request bodies: about 2 MB anywhere, larger only for files sent to the upload routes.

A url-encoded body is parsed whole before login (the CSRF check reads the form), so a
large one must be refused before it is read, with a Chinese page or an htmx alert.
"""
from __future__ import annotations

import io
import os

from PIL import Image
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, Photo

from tests.helpers import csrf_token_from
from tests.activities.test_activity_form import form_page, valid_fields

THREE_MB = 3 * 1024 * 1024
TOO_LARGE = "提交的内容过大（不能超过 2 MB）"


def test_a_3_mb_login_form_is_refused_before_it_is_read(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "username": "jinan-zj", "password": "x" * THREE_MB})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert TOO_LARGE in page and "返回首页" in page


def test_a_3_mb_body_to_htmx_gets_the_alert_fragment(client):
    response = client.post("/login", data={"username": "x" * THREE_MB}, headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#alerts"
    body = response.get_data(as_text=True)
    assert TOO_LARGE in body and "<html" not in body


def test_a_3_mb_activity_form_is_refused_and_nothing_is_stored(client, login_as):
    login_as("jinan-zj")
    _html, token, key = form_page(client)
    before = db.session.scalar(select(func.count(Activity.id)))
    data = {"csrf_token": token, "form_key": key, **valid_fields(description="质" * (THREE_MB // 9 + 1))}
    response = client.post("/activities/new", data=data)
    assert response.status_code == 413
    assert TOO_LARGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Activity.id))) == before


def test_an_overlong_text_field_in_a_multipart_form_names_the_field_not_the_size(client, login_as):
    login_as("jinan-zj")
    _html, token, key = form_page(client)
    data = {"csrf_token": token, "form_key": key, **valid_fields(description="x" * THREE_MB),
            "photos": [(io.BytesIO(b""), "")]}
    response = client.post("/activities/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "填写的内容过长" in response.get_data(as_text=True)


def test_a_3_mb_multipart_body_from_an_anonymous_user_is_refused(client, make_activity):
    activity = make_activity("jinan-zj")
    response = client.post(f"/activities/{activity.id}/photos", content_type="multipart/form-data",
                           data={"photo": (io.BytesIO(os.urandom(THREE_MB)), "photo.png")})
    assert response.status_code == 413
    assert TOO_LARGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0


def ten_mb_png() -> bytes:
    """A photo-sized PNG of noise: it does not compress, so the file is about 10 MB."""
    width, height = 2048, 1707
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_a_10_mb_photo_upload_still_works(client, login_as, make_activity):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    token = csrf_token_from(client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    data = ten_mb_png()
    assert len(data) > 10 * 1024 * 1024
    response = client.post(f"/activities/{activity.id}/photos", data={"photo": (io.BytesIO(data), "现场.png")},
                           headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": token},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["ok"]
    photo = db.session.get(Photo, response.get_json()["id"])
    assert photo.activity_id == activity.id and photo.original_name == "现场.png"
    detail = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f"/photos/{photo.id}/" in detail


def test_a_multipart_part_whose_name_breaks_the_header_is_ignored(client):
    # A line break inside the name ends the part's header early: the part has no name. With no
    # token under its own name, the CSRF check looks at every name, and failed on this one.
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"\n\"\r\n\r\nx\r\n"
            b"--xyz\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njinan-zj\r\n--xyz--\r\n")
    response = client.post("/login", data=body, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 400
    assert "页面已过期，请刷新后重试。" in response.get_data(as_text=True)
