"""Photos, files and PDFs in the local folder and in a real S3 server (SeaweedFS): every test
here runs once with each store (ids with [local] or [s3])."""
from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from docx import Document
from PIL import Image, ImageStat
from pypdf import PdfReader
from sqlalchemy import func, select

from qmonth import create_app
from qmonth.extensions import db
from qmonth.models import ActivityState, Attachment, Photo
from qmonth.photos import services as photo_services
from qmonth.photos.storage import PHOTO_VARIANTS, attachment_key, new_storage_key, photo_key
from qmonth.reports import printing
from qmonth.storage import StorageConfigError, StorageError, pdf_cache, uploads

from tests import photo_samples as samples
from tests.conftest import _make_app
from tests.helpers import clear_activities, token
from tests.reports.support import clear_unit, jpeg_bytes

pytestmark = [
    pytest.mark.xdist_group("object-store"),  # one SeaweedFS per run, not one per worker
    # Each store was tested on both databases (four runs of a test): the rows under a photo or a
    # file are stored and read on both by tests/photos and tests/reports, and PostgreSQL with S3 by
    # tests/platform/test_multi_node.py.
    pytest.mark.one_database("the store's side of photos, files and PDFs"),
]

JSON_UPLOAD = {"X-Requested-With": "qmonth-upload"}
PDF_FILE = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"%" * 4000 + b"\n%%EOF\n"


def upload(client, url: str, data: bytes, name: str, field: str = "photo"):
    return client.post(url, data={field: (io.BytesIO(data), name)},
                       headers={**JSON_UPLOAD, "X-CSRFToken": token(client, "/")}, content_type="multipart/form-data")


def on_disk(app) -> list[str]:
    """Every file under the upload folder, relative to it."""
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def put_photo(activity, *, seed: int, caption: str = "") -> Photo:
    """A photo row whose three copies are real JPEGs in the configured store."""
    data = jpeg_bytes(seed)
    key = new_storage_key()
    for variant in PHOTO_VARIANTS:
        uploads().put_bytes(photo_key(key, variant), data)
    photo = Photo(activity=activity, unit_id=activity.unit_id, uploaded_by_id=activity.author_id,
                  position=len(activity.photos), is_cover=not activity.photos, caption=caption,
                  original_name="现场.jpg", storage_key=key, width=320, height=240,
                  sha256=hashlib.sha256(data).hexdigest(), bytes_print=len(data))
    db.session.add(photo)
    db.session.commit()
    return photo


# The interface ----------------------------------------------------------------------------

def test_a_file_put_in_the_store_reads_back_lists_and_deletes(app_without_database):
    store = uploads()
    store.put_bytes("photos/ab/one-screen.jpg", b"first")
    store.put_bytes("files/cd/two.pdf", b"second file")
    assert store.exists("photos/ab/one-screen.jpg") and store.read_bytes("photos/ab/one-screen.jpg") == b"first"
    with store.open("files/cd/two.pdf") as stream:
        assert stream.read() == b"second file"
    assert store.size("files/cd/two.pdf") == len(b"second file")
    listed = {item.key: item.size for item in store.list()}
    assert listed == {"photos/ab/one-screen.jpg": 5, "files/cd/two.pdf": 11}
    assert [item.key for item in store.list("photos/")] == ["photos/ab/one-screen.jpg"]
    store.put_bytes("photos/ab/one-screen.jpg", b"replaced")
    assert store.read_bytes("photos/ab/one-screen.jpg") == b"replaced"
    store.delete("photos/ab/one-screen.jpg")
    store.delete("photos/ab/one-screen.jpg")  # twice: a missing file is no error
    assert not store.exists("photos/ab/one-screen.jpg") and store.size("photos/ab/one-screen.jpg") is None
    with pytest.raises(FileNotFoundError):
        store.open("photos/ab/one-screen.jpg")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("photos/zz/never.jpg")
    for bad in ("../secret", "/etc/passwd", "photos//x.jpg", "photos/../../x", ""):
        with pytest.raises(ValueError):
            store.put_bytes(bad, b"x")


def test_a_large_file_goes_in_whole_and_its_scratch_copy_is_removed(app_without_database):
    """17 MB: above the multipart threshold, so S3 takes it in parts (as a 100 MB video)."""
    store = uploads()
    data = os.urandom(1024 * 1024) * 17
    scratch = store.scratch_path("files/ef/big.mp4")
    scratch.write_bytes(data)
    store.put_file("files/ef/big.mp4", scratch)
    assert not scratch.exists()
    assert store.size("files/ef/big.mp4") == len(data)
    digest = hashlib.sha256()
    with store.open("files/ef/big.mp4") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_the_pdf_cache_is_a_store_of_its_own(app_without_database):
    uploads().put_bytes("photos/ab/x-print.jpg", b"photo")
    pdf_cache().put_bytes("f" * 64 + ".pdf", b"%PDF")
    assert [item.key for item in pdf_cache().list()] == ["f" * 64 + ".pdf"]
    assert [item.key for item in uploads().list()] == ["photos/ab/x-print.jpg"]


def test_health_says_whether_the_store_answers(app_without_database, store_kind, s3_prefix, request, tmp_path):
    from qmonth.storage import health

    assert health() == "ok"
    if store_kind == "local":
        broken = create_app({"INSTANCE_PATH": tmp_path / "other", "UPLOAD_DIR": str(tmp_path / "uploads")})
        (tmp_path / "uploads").rmdir()  # the folder went away (an unmounted share)
    else:  # nothing listens on the discard port
        broken = create_app({"INSTANCE_PATH": tmp_path / "other",
                             **request.getfixturevalue("s3_server").settings(s3_prefix,
                                                                             S3_ENDPOINT="http://127.0.0.1:9")})
    assert health(broken) == "unavailable"


# The object store itself ---------------------------------------------------------------------

s3_only = pytest.mark.parametrize("store_kind", ["s3"])


@s3_only
def test_a_wrong_secret_is_refused_by_the_server(app, client, s3_server, s3_prefix, tmp_path, database_url,
                                                 make_activity):
    """The server checks every signature: the raw client and the app with a wrong secret get nowhere,
    and a user uploading through such an app is told, in Chinese, with nothing saved."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        s3_server.client(secret_key="not-the-secret").put_object(
            Bucket=s3_server.bucket, Key=f"{s3_prefix}/intruder", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert s3_server.keys(f"{s3_prefix}/") == []

    wrong = create_app({"INSTANCE_PATH": tmp_path / "wrong", "SECRET_KEY": "x", "TESTING": True,
                        **s3_server.settings(s3_prefix, S3_SECRET_KEY="not-the-secret")})
    with wrong.app_context():
        with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
            uploads().put_bytes("photos/ab/x-print.jpg", b"x")
        # A file goes up through boto3's upload_file, which wraps the refusal in an error of its own.
        spooled = tmp_path / "spooled.part"
        spooled.write_bytes(b"x" * 1000)
        with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
            uploads().put_file("files/ab/x.pdf", spooled)
        assert not spooled.exists()
    answer = wrong.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["storage"] == "unavailable"

    activity = make_activity("jinan-zj")
    misconfigured = _make_app(tmp_path / "wrong-app", database_url,
                              **s3_server.settings(s3_prefix, S3_SECRET_KEY="not-the-secret"))
    user = misconfigured.test_client()
    user.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo",
                              "csrf_token": token(user, "/login")})
    refused_upload = upload(user, f"/activities/{activity.id}/photos",
                            samples.encode(samples.photo_like(400, 300), "JPEG"), "现场.jpg")
    assert refused_upload.status_code == 503
    assert "文件存储暂时无法访问" in refused_upload.get_data(as_text=True)
    # A photo's piece (the phone's resumable upload) is spooled to a file first, then uploaded.
    data = samples.encode(samples.photo_like(400, 300), "JPEG")
    created = user.post(f"/activities/{activity.id}/photo-uploads", headers={"X-CSRFToken": token(user, "/")},
                        data={"length": str(len(data)), "filename": "现场.jpg"})
    assert created.status_code == 201, created.get_data(as_text=True)
    piece = user.patch(created.headers["Location"], data=data[:500], content_type="application/offset+octet-stream",
                       headers={"X-CSRFToken": token(user, "/"), "Upload-Offset": "0"})
    assert piece.status_code == 503 and "文件存储暂时无法访问" in piece.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0
    assert s3_server.keys(f"{s3_prefix}/") == []
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "storage": "ok",
                                                 "broker": "not configured"}


@s3_only
def test_the_client_is_path_style_with_checksums_only_when_required(app_without_database):
    client = uploads().client
    assert client.meta.config.s3["addressing_style"] == "path"
    assert client.meta.config.request_checksum_calculation == "when_required"
    assert client.meta.config.response_checksum_validation == "when_required"


def test_newer_default_checksums_can_be_turned_on(s3_server, s3_prefix, tmp_path):
    app = create_app({"INSTANCE_PATH": tmp_path / "i", **s3_server.settings(s3_prefix, S3_CHECKSUMS="when_supported")})
    with app.app_context():
        assert uploads().client.meta.config.request_checksum_calculation == "when_supported"
        uploads().put_bytes("photos/ab/x-print.jpg", b"checked")  # SeaweedFS takes the CRC header
        assert uploads().read_bytes("photos/ab/x-print.jpg") == b"checked"


def test_storage_settings_come_from_the_environment_and_mistakes_stop_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("QMONTH_STORAGE", "s3")
    monkeypatch.setenv("QMONTH_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("QMONTH_S3_BUCKET", "qmonth")
    monkeypatch.setenv("QMONTH_S3_ACCESS_KEY", "AK")
    monkeypatch.setenv("QMONTH_S3_SECRET_KEY", "SK")
    monkeypatch.setenv("QMONTH_S3_REGION", "cn-east-1")
    app = create_app({"INSTANCE_PATH": tmp_path / "env"})
    store = uploads(app)
    assert store.kind == "s3" and store.bucket == "qmonth" and store.prefix == "uploads/"
    assert pdf_cache(app).prefix == "cache/reports/"
    assert store.client.meta.region_name == "cn-east-1"
    monkeypatch.delenv("QMONTH_S3_BUCKET")
    with pytest.raises(StorageConfigError, match="QMONTH_S3_BUCKET"):
        create_app({"INSTANCE_PATH": tmp_path / "env"})
    with pytest.raises(StorageConfigError, match="QMONTH_STORAGE"):
        create_app({"INSTANCE_PATH": tmp_path / "env", "STORAGE": "ftp"})
    with pytest.raises(StorageConfigError, match="QMONTH_S3_CHECKSUMS"):
        create_app({"INSTANCE_PATH": tmp_path / "env", "S3_BUCKET": "b", "S3_CHECKSUMS": "always"})


# Through the pages ----------------------------------------------------------------------------

def test_a_photo_uploaded_is_stored_served_and_deleted(app, client, login_as, make_activity, store_kind,
                                                       request, s3_prefix):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    original = samples.encode(samples.photo_like(1200, 900), "JPEG", quality=90)
    response = upload(client, f"/activities/{activity.id}/photos", original, "现场.jpg")
    assert response.status_code == 200, response.get_data(as_text=True)
    photo = db.session.get(Photo, response.get_json()["id"])
    keys = [photo_key(photo.storage_key, variant) for variant in PHOTO_VARIANTS]
    if store_kind == "s3":
        # In the bucket under the prefix, and nothing on this machine's disk.
        assert s3_server_keys(request, f"{s3_prefix}/uploads/") == sorted(f"{s3_prefix}/uploads/{k}" for k in keys)
        assert on_disk(app) == []
    else:
        assert on_disk(app) == sorted(keys)

    served = client.get(f"/photos/{photo.id}/screen.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == uploads().read_bytes(keys[0]) and served.data[:2] == b"\xff\xd8"
    assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(f"/photos/{photo.id}/screen.jpg", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    thumb = client.get(f"/photos/{photo.id}/thumb.jpg")
    assert thumb.data == uploads().read_bytes(keys[2]) and len(thumb.data) < len(served.data)

    login_as("heze-sw")
    assert client.get(f"/photos/{photo.id}/screen.jpg").status_code == 404  # another bureau's photo
    login_as("jinan-zj")
    deleted = client.post(f"/photos/{photo.id}/delete", headers={"HX-Request": "true", "X-CSRFToken": token(client)})
    assert deleted.status_code == 200
    assert not any(uploads().exists(key) for key in keys)
    assert client.get(f"/photos/{photo.id}/screen.jpg").status_code == 404


def s3_server_keys(request, prefix: str) -> list[str]:
    return request.getfixturevalue("s3_server").keys(prefix)


def test_a_document_is_stored_and_downloaded_as_a_file(app, client, login_as, make_activity, store_kind):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    response = upload(client, f"/activities/{activity.id}/files", PDF_FILE, "活动方案.pdf", field="file")
    assert response.status_code == 200, response.get_data(as_text=True)
    attachment = db.session.scalar(select(Attachment).where(Attachment.activity_id == activity.id))
    key = attachment_key(attachment.storage_key, "pdf")
    assert uploads().read_bytes(key) == PDF_FILE
    if store_kind == "s3":
        assert on_disk(app) == []  # the scratch copy went once it was in the store
    download = client.get(f"/files/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF_FILE
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "private, no-store"
    uploads().delete(key)
    assert client.get(f"/files/{attachment.id}").status_code == 404  # row left, file gone: 404, not 500


def test_the_sweeper_removes_orphans_and_old_staged_uploads_from_the_store(app, client, login_as, make_activity):
    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    photo_jpeg = samples.encode(samples.photo_like(640, 480), "JPEG")
    kept = upload(client, f"/activities/{activity.id}/photos", photo_jpeg, "kept.jpg").get_json()["id"]
    staged = upload(client, f"/activities/staged/{'ef' * 16}/photos", photo_jpeg, "old.jpg").get_json()["id"]
    staged_photo = db.session.get(Photo, staged)
    staged_key = staged_photo.storage_key
    staged_photo.created_at -= timedelta(days=3)
    db.session.commit()
    orphan = photo_key("0" * 32, "print")
    uploads().put_bytes(orphan, b"x")

    young = photo_services.sweep()  # the orphan is younger than the grace period: left alone
    assert young["orphans"] == 0 and uploads().exists(orphan)
    assert young["staged"] == 1 and not uploads().exists(photo_key(staged_key, "print"))

    swept = photo_services.sweep(grace=timedelta(minutes=-1))  # as if ten minutes had passed
    assert swept["orphans"] == 1 and not uploads().exists(orphan)
    kept_photo = db.session.get(Photo, kept)
    assert all(uploads().exists(photo_key(kept_photo.storage_key, v)) for v in PHOTO_VARIANTS)


def fingerprint(image) -> tuple:
    """Size and mean colour, coarsely: the same picture, even if re-encoded on the way into a PDF."""
    rgb = image.convert("RGB")
    return rgb.size, tuple(round(channel / 8) for channel in ImageStat.Stat(rgb).mean)


def test_a_report_pdf_prints_stored_photos_and_is_cached_in_the_store(app, client, login_as, make_activity,
                                                                      store_kind):
    clear_unit("jinan-zj")
    training = make_activity("jinan-zj", title="建设工程质量安全讲堂", kind="training", state=ActivityState.ACCEPTED,
                             tasks=(2,), participants=120, figures={"mode": "线下", "trainees": 80, "class_hours": 6})
    photos = [put_photo(training, seed=1, caption="专家授课"), put_photo(training, seed=2, caption="学员合影")]
    login_as("jinan-zj-admin")
    assert client.get("/reports/jinan-zj").status_code == 200
    first = client.get("/reports/jinan-zj.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf", first.get_data(as_text=True)[:300]
    pdf = first.data
    printed = {fingerprint(image.image) for page in PdfReader(io.BytesIO(pdf)).pages for image in page.images}
    # Both photos came out of the store into the PDF: their size and colours.
    assert printed == {fingerprint(Image.open(io.BytesIO(uploads().read_bytes(photo_key(p.storage_key, "print")))))
                       for p in photos}
    cached = [item.key for item in pdf_cache().list() if item.key.endswith(".pdf")]
    assert len(cached) == 1 and pdf_cache().read_bytes(cached[0]) == pdf
    if store_kind == "s3":
        assert not list(printing.cache_dir(app.instance_path).glob("*.pdf"))  # not on this machine
    assert client.get("/reports/jinan-zj.pdf").data == pdf  # from the cache
    pdf_cache().delete(cached[0])
    assert client.get("/reports/jinan-zj.pdf").data == pdf  # made again, the same bytes


def test_a_large_pdf_made_in_the_background_lands_in_the_store(app, client, login_as, make_activity):
    import re
    import time

    clear_unit("jinan-zj")
    training = make_activity("jinan-zj", title="质量安全讲堂", kind="training", state=ActivityState.ACCEPTED)
    put_photo(training, seed=3)
    app.config["REPORT_SYNC_SECONDS"] = 0  # every document counts as large
    login_as("jinan-zj-admin")
    client.get("/reports/jinan-zj")
    response = client.get("/reports/jinan-zj.pdf")
    assert response.status_code == 202
    status_url = re.search(r'data-hx-get="([^"]+)"', response.get_data(as_text=True)).group(1).replace("&amp;", "&")
    for _ in range(240):
        if "下载PDF" in client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True):
            break
        time.sleep(0.25)
    else:
        pytest.fail("the background render never finished")
    assert len([item for item in pdf_cache().list() if item.key.endswith(".pdf")]) == 1
    ready = client.get("/reports/jinan-zj.pdf")
    assert ready.status_code == 200 and ready.data.startswith(b"%PDF")


def test_highlights_zip_and_word_report_read_photos_from_the_store(app, client, login_as, make_activity):
    clear_activities()
    activity = make_activity("jinan-zj", title="质量安全讲堂", state=ActivityState.ACCEPTED, is_highlight=True)
    photos = [put_photo(activity, seed=4, caption="专家授课"), put_photo(activity, seed=5)]
    login_as("province")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/board/highlights.zip").data))
    stored = {uploads().read_bytes(photo_key(p.storage_key, "print")) for p in photos}
    pictures = {archive.read(name) for name in archive.namelist() if name.endswith(".jpg")}
    assert pictures == stored and len(pictures) == 2

    login_as("jinan-zj-admin")
    client.get("/reports/jinan-zj")
    response = client.get("/reports/jinan-zj.docx")
    assert response.status_code == 200
    document = Document(io.BytesIO(response.data))
    embedded = {part.blob for part in document.part.package.parts if part.content_type == "image/jpeg"}
    assert embedded & stored


@pytest.fixture
def full_disk(tmp_path):
    """A 4 MB file system (tmpfs) filled to the last byte, as a full upload disk is; `free()` empties it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:  # unmounted whatever happens: scripts/test removes its temporary folder at the end
        filler = mount / "filler"
        try:
            with open(filler, "wb") as handle:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
        yield SimpleNamespace(path=mount, free=filler.unlink)
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_full_upload_disk_is_told_as_the_store_unavailable_and_keeps_nothing(full_disk, tmp_path, database_url,
                                                                             make_activity):
    """A photo sent while the upload disk is full: the bureau is told in Chinese that the store
    cannot take it now (503, which the phone's outbox tries again), no row and no partial file stay;
    once there is room, the same photo goes in."""
    activity = make_activity("jinan-zj")
    app = _make_app(tmp_path / "instance-on-full-disk", database_url, UPLOAD_DIR=str(full_disk.path))
    user = app.test_client()
    user.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo", "csrf_token": token(user, "/login")})
    photo = samples.encode(samples.photo_like(1200, 900), "JPEG")

    refused = upload(user, f"/activities/{activity.id}/photos", photo, "现场.jpg")
    assert refused.status_code == 503
    assert "文件存储暂时无法访问" in refused.get_data(as_text=True)
    # The phone's resumable upload: its piece is spooled on the same disk.
    other = samples.encode(samples.photo_like(1200, 900, seed=7), "JPEG")
    created = user.post(f"/activities/{activity.id}/photo-uploads", headers={"X-CSRFToken": token(user, "/")},
                        data={"length": str(len(other)), "filename": "验收.jpg"})
    piece = user.patch(created.headers["Location"], data=other, content_type="application/offset+octet-stream",
                       headers={"X-CSRFToken": token(user, "/"), "Upload-Offset": "0"})
    assert piece.status_code == 503 and "文件存储暂时无法访问" in piece.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0
    token_of_upload = created.headers["Location"].rsplit("/", 1)[1]
    assert on_disk(app) == ["filler", f"incoming/{token_of_upload}.upload"]  # the open upload's own file
    assert app.test_client().get("/healthz").get_json()["storage"] == "unavailable"

    full_disk.free()
    stored = upload(user, f"/activities/{activity.id}/photos", photo, "现场.jpg")
    assert stored.status_code in (200, 201), stored.get_data(as_text=True)
    # The phone tries its piece again from where the server says it stands: the photo arrives.
    offset = int(user.head(created.headers["Location"]).headers["Upload-Offset"])
    resumed = user.patch(created.headers["Location"], data=other[offset:], content_type="application/offset+octet-stream",
                         headers={"X-CSRFToken": token(user, "/"), "Upload-Offset": str(offset)})
    assert resumed.status_code in (200, 201) and resumed.get_json()["complete"], resumed.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 2
