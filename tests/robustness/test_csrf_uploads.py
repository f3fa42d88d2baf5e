"""CSRF before files: a form that carries photos or files but no valid token stores nothing."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Attachment, AuditEvent, Photo

from tests import photo_samples as samples
from tests.activities.test_activity_form import form_page, valid_fields


def _stored_files(app) -> list:
    from pathlib import Path

    root = Path(app.config["UPLOAD_DIR"])
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Photo.id))), db.session.scalar(select(func.count(Attachment.id))),
            db.session.scalar(select(func.count(AuditEvent.id))))


def _files() -> dict:
    jpeg = samples.encode(samples.photo_like(600, 400), "JPEG")
    return {"photos": [(io.BytesIO(jpeg), "site.jpg")], "files": [(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "plan.pdf")]}


@pytest.mark.parametrize("token", ["", "forged-token"], ids=["missing", "forged"])
def test_an_edit_without_a_valid_token_stores_no_photo(app, client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    before, files_before = _counts(), _stored_files(app)
    data = {"csrf_token": token, **valid_fields(), **_files()}
    response = client.post(f"/activities/{activity.id}/edit", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "页面已过期" in html
    assert "所选的照片和文件未上传，请重新选择。" in html
    assert valid_fields()["title"] in html  # the typed input is kept
    db.session.expire_all()
    assert _counts() == before
    assert _stored_files(app) == files_before


@pytest.mark.parametrize("path", ["/activities/new", "/activities/quick"])
def test_a_new_entry_without_a_valid_token_stages_no_photo(app, client, login_as, path):
    login_as("jinan-zj")
    _html, _csrf, key = form_page(client)
    before = _counts()
    data = {"csrf_token": "forged-token", "form_key": key, **valid_fields(), **_files()}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and "所选的照片和文件未上传" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _counts() == before
    assert _stored_files(app) == []


def test_upload_routes_without_a_token_store_nothing(app, client, login_as, make_activity):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    jpeg = samples.encode(samples.photo_like(600, 400), "JPEG")
    for url, field, data in ((f"/activities/{activity.id}/photos", "photo", jpeg),
                             (f"/activities/staged/{'ab' * 16}/photos", "photo", jpeg),
                             (f"/activities/{activity.id}/files", "file", b"%PDF-1.4\n%%EOF\n"),
                             (f"/activities/staged/{'ab' * 16}/files", "file", b"%PDF-1.4\n%%EOF\n")):
        response = client.post(url, data={field: (io.BytesIO(data), "x")}, content_type="multipart/form-data",
                               headers={"X-Requested-With": "qmonth-upload"})
        assert response.status_code == 400, url
    db.session.expire_all()
    assert _counts()[:2] == (0, 0)
    assert _stored_files(app) == []
