"""Upload limits are checked before a file costs anything, and files are taken by structure.

Limits: 30 photos and 10 videos or documents per activity (or per form not yet saved),
and 10 forms not yet saved with staged uploads per user.
"""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Attachment, AttachmentKind, Photo
from qmonth.photos import services as photo_services

from tests import photo_samples as samples
from tests.helpers import csrf_token_from
from tests.helpers import token as token_for
from tests.activities.test_activity_form import valid_fields
from tests.photos.test_photos import _docx_bytes, _xlsx_bytes, upload


@pytest.fixture
def token(client):
    """The shared `tests.helpers.token`, bound to this test's client."""
    return lambda path="/": token_for(client, path)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if a photo is decoded."""
    def decode(*_args, **_kwargs):
        raise AssertionError("the photo was decoded")
    monkeypatch.setattr(photo_services, "process_photo", decode)


def _photo_rows(user, count: int, *, activity=None, staging_key=None) -> None:
    for position in range(count):
        db.session.add(Photo(activity=activity, staging_key=staging_key, unit_id=user.unit_id,
                             uploaded_by_id=user.id, position=position, storage_key=uuid.uuid4().hex,
                             width=10, height=10, sha256="0" * 64))
    db.session.commit()


def _file_rows(user, count: int, *, activity=None, staging_key=None) -> None:
    for _ in range(count):
        db.session.add(Attachment(activity=activity, staging_key=staging_key, unit_id=user.unit_id,
                                  uploaded_by_id=user.id, kind=AttachmentKind.DOCUMENT, original_name="a.pdf",
                                  storage_key=uuid.uuid4().hex, content_type="application/pdf", extension="pdf",
                                  size=10, sha256="0" * 64))
    db.session.commit()


def _jpeg() -> bytes:
    return samples.encode(samples.photo_like(600, 400), "JPEG")


def _photo_count(**where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Photo.id)).filter_by(**where))


def test_the_31st_photo_is_refused_before_it_is_decoded(client, login_as, make_activity, user_named, token,
                                                         no_decoding):
    activity = make_activity("jinan-zj")
    _photo_rows(user_named("jinan-zj"), 30, activity=activity)
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/photos", _jpeg(), "第31张.jpg", token())
    assert response.status_code == 422
    assert response.get_json()["error"] == "“第31张.jpg”未能上传：每项活动最多上传 30 张照片。"
    assert _photo_count(activity_id=activity.id) == 30


def test_the_31st_photo_sent_with_the_form_is_refused_before_it_is_decoded(client, login_as, make_activity,
                                                                          user_named, no_decoding):
    activity = make_activity("jinan-zj")
    _photo_rows(user_named("jinan-zj"), 30, activity=activity)
    login_as("jinan-zj")
    csrf = csrf_token_from(client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    response = client.post(f"/activities/{activity.id}/edit", content_type="multipart/form-data",
                           data={"csrf_token": csrf, **valid_fields(), "photos": [(io.BytesIO(_jpeg()), "多一张.jpg")]})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "“多一张.jpg”未能上传：每项活动最多上传 30 张照片。" in page
    assert _photo_count(activity_id=activity.id) == 30


def test_a_form_not_yet_saved_takes_30_photos_too(client, login_as, user_named, token, no_decoding):
    key = "ab" * 16
    _photo_rows(user_named("jinan-zj"), 30, staging_key=key)
    login_as("jinan-zj")
    response = upload(client, f"/activities/staged/{key}/photos", _jpeg(), "x.jpg", token())
    assert response.status_code == 422 and "每项活动最多上传 30 张照片。" in response.get_json()["error"]
    assert _photo_count(staging_key=key) == 30


def test_the_11th_file_of_an_activity_is_refused(client, login_as, make_activity, user_named, token):
    activity = make_activity("jinan-zj")
    _file_rows(user_named("jinan-zj"), 10, activity=activity)
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", b"%PDF-1.7\n%%EOF\n", "第11个.pdf", token(),
                      field="file")
    assert response.status_code == 422
    assert response.get_json()["error"] == "“第11个.pdf”未能上传：每项活动最多上传 10 个视频或文件。"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.activity_id == activity.id)) == 10


def test_staged_uploads_are_bounded_to_10_forms_per_user(client, login_as, user_named, token):
    reporter = user_named("jinan-zj")
    keys = [f"{n:032x}" for n in range(10)]
    for key in keys[:6]:
        _photo_rows(reporter, 1, staging_key=key)
    for key in keys[6:]:
        _file_rows(reporter, 1, staging_key=key)
    login_as("jinan-zj")
    eleventh = upload(client, f"/activities/staged/{'ee' * 16}/photos", _jpeg(), "x.jpg", token())
    assert eleventh.status_code == 422
    assert "已有 10 份未保存的登记表上传了照片或文件" in eleventh.get_json()["error"]
    file_too = upload(client, f"/activities/staged/{'ee' * 16}/files", b"%PDF-1.7\n%%EOF\n", "x.pdf", token(),
                      field="file")
    assert file_too.status_code == 422 and "已有 10 份未保存的登记表" in file_too.get_json()["error"]
    # A form that already holds uploads takes more; another user has his own allowance.
    assert upload(client, f"/activities/staged/{keys[0]}/photos", _jpeg(), "y.jpg", token()).status_code == 200
    # Uploads of a form left for over two days no longer count, even before the sweeper runs.
    for photo in db.session.scalars(select(Photo).where(Photo.staging_key == keys[1])):
        photo.created_at -= timedelta(days=3)
    db.session.commit()
    assert upload(client, f"/activities/staged/{'dd' * 16}/photos", _jpeg(), "w.jpg", token()).status_code == 200
    login_as("jinan-zj-admin")
    assert upload(client, f"/activities/staged/{'ee' * 16}/photos", _jpeg(), "z.jpg", token()).status_code == 200
    assert _photo_count(staging_key="ee" * 16) == 1


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _docm_bytes() -> bytes:
    """A Word package whose main part is macro-enabled (a .docm renamed .docx)."""
    source = zipfile.ZipFile(io.BytesIO(_docx_bytes()))
    members = {name: source.read(name).decode("utf-8", "replace") for name in source.namelist()}
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml")
    return _zip(members)


HTML = b"<html><script>alert(document.cookie)</script></html>" + b" " * 100


@pytest.mark.parametrize("data, name", [
    (b"\x00\x00\x00\x08moov" + HTML, "moov.mp4"),
    (b"\x00\x00\x00\x08free" + HTML, "free.mov"),
    (b"\x00\x00\x00\x08wide" + HTML, "wide.mov"),
    (b"\x00\x00\x00\x08mdat" + HTML, "mdat.mov"),
    (b"\x00\x00\x00\x00ftypmp42\x00\x00\x00\x00" + HTML, "size-zero.mp4"),
    (b"\x00\x00\x00\x08ftypmp42\x00\x00\x00\x00" + HTML, "too-short-box.mp4"),
    (b"\x7f\xff\xff\xffftypmp42\x00\x00\x00\x00" + HTML, "box-past-the-end.mp4"),
    (b"\x00\x00\x00\x18ftyphtml\x00\x00\x00\x00mp42isom" + HTML, "brand.mp4"),
    (b"%PDF-1.7\n" + HTML, "no-eof.pdf"),
    (b"%PDF-<html>%%EOF", "no-version.pdf"),
    (_zip({"word/document.xml": "<w:document/>"}), "no-content-types.docx"),
    (_docm_bytes(), "macros.docx"),
    (_zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}), "undeclared.xlsx"),
])
def test_files_that_only_begin_like_a_video_or_document_are_refused(client, login_as, make_activity, token,
                                                                    data, name):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", data, name, token(), field="file")
    assert response.status_code == 422
    assert response.get_json()["error"] == (f"“{name}”未能上传：只能上传 MP4、MOV 视频或 PDF、DOCX、XLSX 文件"
                                            "（按文件内容识别）。")
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


@pytest.mark.parametrize("data, extension", [
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free\x00\x00\x00\x08mdat", "mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  \x00\x00\x00\x08wide\x00\x00\x00\x08mdat", "mov"),
    (b"%PDF-2.0\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF", "pdf"),
    (b"%PDF-1.4\n" + b"x" * 5000 + b"\n%%EOF\r\n", "pdf"),
    (_docx_bytes(), "docx"),
    (_xlsx_bytes(), "xlsx"),
])
def test_real_videos_and_documents_are_still_taken(client, login_as, make_activity, token, data, extension):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", data, f"file.{extension}", token(), field="file")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert db.session.get(Attachment, response.get_json()["id"]).extension == extension
