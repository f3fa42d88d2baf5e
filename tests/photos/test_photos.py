"""Photos and files through the HTTP layer: upload, privacy, scoping, managing, sweeping."""
import io
import os
import time
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, Attachment, Photo, User
from qmonth.photos import services as photo_services
from qmonth.photos.storage import attachment_path, photo_path

from tests import photo_samples as samples
from tests.helpers import csrf_token_from
from tests.helpers import token as token_for

JSON_UPLOAD = {"X-Requested-With": "qmonth-upload"}


@pytest.fixture
def token(client):
    """The shared `tests.helpers.token`, bound to this test's client."""
    return lambda path="/": token_for(client, path)


def upload(client, url, data: bytes, name: str, token: str, field="photo"):
    return client.post(url, data={field: (io.BytesIO(data), name)}, headers={**JSON_UPLOAD, "X-CSRFToken": token},
                       content_type="multipart/form-data")


def gps_jpeg() -> bytes:
    return samples.encode(samples.photo_like(1200, 900), "JPEG", exif=samples.exif_with(6, gps=True), quality=90)


def test_upload_stores_three_exif_free_copies_without_gps(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    original = gps_jpeg()
    assert b"Exif" in original
    response = upload(client, f"/activities/{activity.id}/photos", original, "IMG_0001.JPG", token())
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] and 'id="photo-' in body["html"]
    photo = db.session.get(Photo, body["id"])
    assert photo.activity_id == activity.id and photo.original_name == "IMG_0001.JPG" and photo.is_cover
    for variant, limit in (("screen", 1280), ("print", 1600), ("thumb", 400)):
        data = photo_path(photo.storage_key, variant).read_bytes()
        # No APP1 (EXIF, XMP) or other application segment but JFIF's APP0; raw byte
        # searches would flake on compressed data that happens to spell "GPS".
        assert [m for m in samples.jpeg_markers(data) if 0xE1 <= m <= 0xEF] == []
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and not image.getexif()
        assert max(image.size) <= limit
        # Orientation 6 was applied: the landscape original is stored upright (portrait).
        assert image.size[1] > image.size[0]


def test_stored_names_are_random_and_shown_names_escaped(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    names = ["../../etc/passwd.jpg", "a\x00b.jpg", "photo\u202egpj.exe.jpg", "长" * 500 + ".jpg",
             "<img src=x onerror=alert(1)>.jpg"]
    for seed, name in enumerate(names):  # other pictures: the same one twice would be refused
        jpeg = samples.encode(samples.photo_like(300, 200, seed=seed), "JPEG")
        assert upload(client, f"/activities/{activity.id}/photos", jpeg, name, token()).status_code == 200
    photos = db.session.scalars(select(Photo).where(Photo.activity_id == activity.id).order_by(Photo.id)).all()
    for photo in photos:
        assert len(photo.storage_key) == 32 and all(c in "0123456789abcdef" for c in photo.storage_key)
        assert "/" not in photo.original_name and "\x00" not in photo.original_name and "\u202e" not in photo.original_name
        assert len(photo.original_name) <= 80
    assert photos[0].original_name == "passwd.jpg"
    page = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert "<img src=x onerror=alert(1)>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    for path in (photo_path(p.storage_key, "print") for p in photos):
        assert path.parent.parent.name == "photos"


@pytest.mark.parametrize("data, name, reason", [
    (b"<html><body>hi</body></html>", "fake.jpg", "不是有效的图片"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "logo.jpg", "不是有效的图片"),
    (b"", "empty.jpg", ""),
    (samples.png_declaring(30000, 30000), "huge.png", "像素"),
    (samples.jpeg_declaring(65500, 65500), "huge.jpg", "像素"),
    (samples.gif_with_frames(10000), "anim.gif", "不是有效的图片"),
])
def test_bad_files_are_refused_with_a_message_naming_the_file(client, login_as, make_activity, token, data, name, reason):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/photos", data, name, token())
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert f"“{name}”未能上传" in error and reason in error
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0


def test_a_21_mb_file_is_refused(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/photos", samples.oversized_jpeg(21 * 1024 * 1024),
                      "big.jpg", token())
    assert response.status_code == 422
    assert "20 MB" in response.get_json()["error"]


def test_cmyk_and_heic_are_accepted(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    assert upload(client, f"/activities/{activity.id}/photos", samples.cmyk_jpeg(), "cmyk.jpg", token()).status_code == 200
    assert upload(client, f"/activities/{activity.id}/photos", samples.heic(), "IMG_1.HEIC", token()).status_code == 200
    for photo in db.session.scalars(select(Photo).where(Photo.activity_id == activity.id)):
        assert Image.open(photo_path(photo.storage_key, "print")).mode == "RGB"


def test_photos_of_another_bureau_are_404(app, client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    body = upload(client, f"/activities/{activity.id}/photos", gps_jpeg(), "a.jpg", token()).get_json()
    response = client.get(f"/photos/{body['id']}/thumb.jpg")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers["Cache-Control"]

    login_as("qingdao-zj")
    for variant in ("thumb", "screen", "print"):
        assert client.get(f"/photos/{body['id']}/{variant}.jpg").status_code == 404
    assert upload(client, f"/activities/{activity.id}/photos", gps_jpeg(), "b.jpg", token()).status_code == 404
    assert client.post(f"/photos/{body['id']}/caption", data={"caption": "x"},
                       headers={"X-CSRFToken": token()}).status_code == 404
    login_as("province")
    assert client.get(f"/photos/{body['id']}/screen.jpg").status_code == 200


def test_caption_reorder_cover_and_delete(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    ids = [upload(client, f"/activities/{activity.id}/photos", samples.encode(samples.photo_like(400, 300, seed=i)),
                  f"p{i}.jpg", token()).get_json()["id"] for i in range(3)]
    csrf = token()
    htmx = {"HX-Request": "true", "X-CSRFToken": csrf}
    caption = client.post(f"/photos/{ids[1]}/caption", data={"caption": "  观摩现场  "}, headers=htmx)
    assert "已保存" in caption.get_data(as_text=True)
    assert db.session.get(Photo, ids[1]).caption == "观摩现场"
    bad = client.post(f"/photos/{ids[1]}/caption", data={"caption": "坏\x07字符"}, headers=htmx)
    assert bad.status_code == 422 and "控制字符" in bad.get_data(as_text=True)

    client.post(f"/photos/{ids[2]}/move", data={"direction": "up"}, headers=htmx)
    client.post(f"/photos/{ids[2]}/cover", headers=htmx)
    db.session.expire_all()
    order = [p.id for p in db.session.get(Activity, activity.id).photos]
    assert order == [ids[0], ids[2], ids[1]]
    assert [p.is_cover for p in db.session.get(Activity, activity.id).photos] == [False, True, False]

    key = db.session.get(Photo, ids[2]).storage_key
    confirm = client.get(f"/photos/{ids[2]}/delete")
    assert "确定删除照片" in confirm.get_data(as_text=True)
    gallery = client.post(f"/photos/{ids[2]}/delete", headers=htmx).get_data(as_text=True)
    assert gallery.lstrip().startswith('<section class="media" id="media">')
    db.session.expire_all()
    remaining = db.session.get(Activity, activity.id).photos
    assert [p.id for p in remaining] == [ids[0], ids[1]] and remaining[0].is_cover
    assert not photo_path(key, "print").exists()


def test_at_most_30_photos(client, login_as, make_activity, token, monkeypatch):
    monkeypatch.setattr(photo_services, "MAX_PHOTOS_PER_ACTIVITY", 2)
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    jpegs = [samples.encode(samples.photo_like(200, 150, seed=seed)) for seed in range(3)]
    assert upload(client, f"/activities/{activity.id}/photos", jpegs[0], "1.jpg", token()).status_code == 200
    assert upload(client, f"/activities/{activity.id}/photos", jpegs[1], "2.jpg", token()).status_code == 200
    third = upload(client, f"/activities/{activity.id}/photos", jpegs[2], "3.jpg", token())
    assert third.status_code == 422 and "最多上传 2 张照片" in third.get_json()["error"]
    names = db.session.scalars(select(Photo.original_name).where(Photo.activity_id == activity.id)).all()
    assert sorted(names) == ["1.jpg", "2.jpg"]


def test_accepted_activities_take_no_new_photos(client, login_as, make_activity, token):
    activity = make_activity("jinan-zj", state=ActivityState.ACCEPTED)
    login_as("jinan-zj")
    assert upload(client, f"/activities/{activity.id}/photos", gps_jpeg(), "a.jpg", token()).status_code == 409
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0


def test_photos_chosen_before_the_first_save_are_kept(client, login_as, token):
    from tests.activities.test_activity_form import form_page, valid_fields

    login_as("jinan-zj")
    _html, csrf, key = form_page(client)
    staged = upload(client, f"/activities/staged/{key}/photos", gps_jpeg(), "site.jpg", csrf)
    assert staged.status_code == 200
    # The form comes back with an error first: the staged photo is still shown.
    again = client.post("/activities/new", data={"csrf_token": csrf, "form_key": key, **valid_fields(title="")})
    assert again.status_code == 422 and "site.jpg" in again.get_data(as_text=True)
    saved = client.post("/activities/new", data={"csrf_token": csrf, "form_key": key, **valid_fields()})
    activity_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    photos = db.session.scalars(select(Photo).where(Photo.activity_id == activity_id)).all()
    assert [p.original_name for p in photos] == ["site.jpg"] and photos[0].staging_key is None


def test_staged_photos_belong_to_their_uploader_only(client, login_as, token):
    login_as("jinan-zj")
    key = "ab" * 16
    body = upload(client, f"/activities/staged/{key}/photos", gps_jpeg(), "mine.jpg", token()).get_json()
    login_as("jinan-zj-admin")
    assert client.get(f"/photos/{body['id']}/thumb.jpg").status_code == 404
    # Another account that sends the same form key stages a photo of its own: it neither sees
    # nor joins the first one's (and the same picture is not "already uploaded" for it).
    login_as("province")
    other = upload(client, f"/activities/staged/{key}/photos", gps_jpeg(), "p.jpg", token())
    assert other.status_code == 200 and other.get_json()["id"] != body["id"]
    staged = db.session.execute(select(Photo.original_name, User.username).join(User, Photo.uploaded_by_id == User.id)
                                .where(Photo.staging_key == key).order_by(Photo.id)).all()
    assert [tuple(row) for row in staged] == [("mine.jpg", "jinan-zj"), ("p.jpg", "province")]


def test_without_javascript_photos_go_with_the_form(client, login_as):
    from tests.activities.test_activity_form import form_page, valid_fields

    login_as("jinan-zj")
    _html, csrf, key = form_page(client)
    data = {"csrf_token": csrf, "form_key": key, **valid_fields(),
            "photos": [(io.BytesIO(gps_jpeg()), "one.jpg"), (io.BytesIO(b"not an image"), "two.jpg")]}
    response = client.post("/activities/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    activity_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "“two.jpg”未能上传" in page
    assert [p.original_name for p in db.session.scalars(select(Photo).where(Photo.activity_id == activity_id))] == ["one.jpg"]


def test_quick_entry_saves_a_draft_with_the_kinds_task(client, login_as):
    login_as("jinan-zj")
    page = client.get("/activities/quick").get_data(as_text=True)
    assert "现场快速登记" in page and 'value="2024-09-20"' in page  # today (the tests' clock)
    csrf = csrf_token_from(page)
    key = page.split('name="form_key" type="hidden" value="')[1].split('"')[0]
    response = client.post("/activities/quick", data={
        "csrf_token": csrf, "form_key": key, "action": "save", "kind": "testing", "title": "检测开放日",
        "starts_on": "2024-09-18", "county": "历城区", "participants": "85"})
    assert response.status_code == 302
    activity = db.session.get(Activity, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert activity.state is ActivityState.DRAFT and [t.number for t in activity.tasks] == [8]
    assert activity.starts_on == activity.ends_on and activity.participants == 85
    bad = client.post("/activities/quick", data={"csrf_token": csrf, "form_key": "cd" * 16, "action": "save",
                                                 "kind": "testing", "title": "", "starts_on": "2024-09-18"})
    assert bad.status_code == 422 and "请填写活动名称。" in bad.get_data(as_text=True)


def _docx_bytes() -> bytes:
    from docx import Document

    buffer = io.BytesIO()
    document = Document()
    document.add_paragraph("活动方案")
    document.save(buffer)
    return buffer.getvalue()


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2000
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 2000


@pytest.mark.parametrize("data, name, extension", [
    (MP4, "现场视频.mp4", "mp4"), (MOV, "clip.MOV", "mov"), (b"%PDF-1.7\n%....\n%%EOF\n", "活动方案.pdf", "pdf"),
    (_docx_bytes(), "方案.docx", "docx"), (_xlsx_bytes(), "签到表.xlsx", "xlsx"),
])
def test_videos_and_documents_are_checked_by_content(client, login_as, make_activity, token, data, name, extension):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", data, name, token(), field="file")
    assert response.status_code == 200, response.get_data(as_text=True)
    attachment = db.session.get(Attachment, response.get_json()["id"])
    assert attachment.extension == extension and attachment_path(attachment.storage_key, extension).exists()
    download = client.get(f"/files/{attachment.id}")
    assert download.data == data
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"") and "filename*=UTF-8''" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    login_as("qingdao-zj")
    assert client.get(f"/files/{attachment.id}").status_code == 404


@pytest.mark.parametrize("data, name", [
    (b"MZ\x90\x00" + b"\x00" * 100, "活动方案.pdf"),
    (b"<html>", "video.mp4"),
    (b"PK\x03\x04garbage", "表格.xlsx"),
    (b"", "empty.pdf"),
])
def test_disguised_files_are_refused(client, login_as, make_activity, token, data, name):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", data, name, token(), field="file")
    assert response.status_code == 422
    assert f"“{name}”未能上传" in response.get_json()["error"]
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_content_disposition_never_leaks_quotes_or_line_breaks():
    from qmonth.downloads import content_disposition

    header = content_disposition('a"b\r\nSet-Cookie: x.pdf', "pdf")
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2


def test_the_sweeper_removes_orphans_temporary_files_and_old_staged_uploads(app, client, login_as, make_activity, token):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    kept = upload(client, f"/activities/{activity.id}/photos", gps_jpeg(), "kept.jpg", token()).get_json()["id"]
    old_staged = upload(client, f"/activities/staged/{'ef' * 16}/photos", gps_jpeg(), "old.jpg", token()).get_json()["id"]
    staged_photo = db.session.get(Photo, old_staged)
    staged_key = staged_photo.storage_key
    staged_photo.created_at = staged_photo.created_at - timedelta(days=3)
    db.session.commit()
    orphan = photo_path("0" * 32, "print")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x")
    temp = photo_path("1" * 32, "print").with_name("x.jpg.abcd.part")
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.write_bytes(b"x")
    old = time.time() - 7200  # the sweeper leaves files younger than ten minutes alone
    os.utime(temp, (old, old))
    os.utime(orphan, (old, old))

    result = app.test_cli_runner().invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert not orphan.exists() and not temp.exists()
    assert not photo_path(staged_key, "print").exists()
    db.session.expire_all()
    assert db.session.get(Photo, old_staged) is None
    kept_photo = db.session.get(Photo, kept)
    assert all(photo_path(kept_photo.storage_key, v).exists() for v in ("screen", "print", "thumb"))
