"""Real Chromium at phone size: a 12-megapixel photo is shrunk to what the server keeps before it
is sent, and its capture time is read from the original's EXIF first (a canvas drops EXIF)."""
import io
import json

from PIL import ExifTags, Image
from sqlalchemy import select
from werkzeug.formparser import parse_form_data

from qmonth.models import Photo
from qmonth.photos.storage import photo_path

from tests import photo_samples as samples
from tests.conftest import browser_login

MAX_SENT = 350 * 1024


def camera_jpeg(*, taken: str | None, orientation: int | None = None, size=(4000, 3000), seed=1) -> bytes:
    """A 12 MP photo as a phone camera stores it: EXIF with make, GPS and (maybe) DateTimeOriginal."""
    exif = samples.exif_with(orientation, gps=True)
    if taken:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    return samples.encode(samples.photo_like(*size, seed=seed), "JPEG", quality=92, exif=exif.tobytes())


def record_uploads(server) -> list[dict]:
    """What the browser really sent for each photo: the fields that created its resumable upload
    and, per file name, the bytes its PATCH requests carried (qmonth/photos/resumable.py)."""
    seen = []
    by_url = {}
    inner = server.app.wsgi_app

    def recording(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method == "POST" and path.endswith("/photo-uploads"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            _stream, form, _files = parse_form_data({
                "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""), "REQUEST_METHOD": "POST"})
            environ["wsgi.input"] = io.BytesIO(body)
            answer = b"".join(inner(environ, start_response))
            upload = {"fields": dict(form), "files": {form["filename"]: 0}}
            seen.append(upload)
            by_url[json.loads(answer)["url"]] = upload
            return [answer]
        if method == "PATCH" and path in by_url:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            files = by_url[path]["files"]
            [name] = files
            files[name] += len(body)
        return inner(environ, start_response)

    server.app.wsgi_app = recording
    return seen


def upload_on_the_form(server, page_at, files):
    page = page_at(390, 844)
    browser_login(page, server, "jinan-zj")
    page.goto(f"{server.url}/activities/new")  # the form's uploader sends at once (quick entry: the outbox)
    page.set_input_files("#media input[type=file]", files=files)
    page.locator("#photo-list .photo-card").nth(len(files) - 1).wait_for(timeout=60000)
    return page


def stored(server, name):
    with server.app.app_context():
        from qmonth.extensions import db

        return db.session.scalar(select(Photo).where(Photo.original_name == name))


def test_a_12_megapixel_photo_is_sent_shrunk_with_its_capture_time(live_server, page_at):
    seen = record_uploads(live_server)
    original = camera_jpeg(taken="2024:09:18 10:12:33", orientation=6)
    assert len(original) > 2 * 1024 * 1024
    page = upload_on_the_form(live_server, page_at, [
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": original}])
    [request] = seen
    assert request["fields"]["taken_at"] == "2024-09-18T10:12:33"
    [(sent_name, sent_bytes)] = request["files"].items()
    assert sent_name == "IMG_0001.jpg" and sent_bytes <= MAX_SENT
    assert int(request["fields"]["length"]) == sent_bytes
    assert int(page.get_attribute("#media [data-uploader]", "data-last-bytes")) == sent_bytes
    # The stored photo: upright (orientation 6 turned the 4000 x 3000 sensor picture), 1600 px on the
    # long side, and no EXIF (no GPS) in the copy the PDF embeds.
    photo = stored(live_server, "IMG_0001.jpg")
    assert (photo.width, photo.height) == (1200, 1600)
    with live_server.app.app_context():
        with Image.open(photo_path(photo.storage_key, "print")) as printed:
            assert printed.size == (1200, 1600)
            assert not printed.getexif()
    assert page.console_errors == []


def test_a_photo_without_capture_time_sends_none(live_server, page_at):
    seen = record_uploads(live_server)
    upload_on_the_form(live_server, page_at, [
        {"name": "wechat.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg(taken=None, seed=2)}])
    [request] = seen
    assert "taken_at" not in request["fields"]
    assert request["files"]["wechat.jpg"] <= MAX_SENT


def test_a_camera_clock_of_zeros_is_no_capture_time(live_server, page_at):
    seen = record_uploads(live_server)
    upload_on_the_form(live_server, page_at, [
        {"name": "noclock.jpg", "mimeType": "image/jpeg",
         "buffer": camera_jpeg(taken="0000:00:00 00:00:00", size=(1600, 1200), seed=3)}])
    assert "taken_at" not in seen[0]["fields"]


def test_a_photo_the_browser_cannot_decode_goes_as_it_is_with_its_capture_time(live_server, page_at):
    seen = record_uploads(live_server)
    exif = samples.exif_with(gps=True)
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:09:19 08:05:00"
    heic = samples.encode(samples.photo_like(640, 480), "HEIF", quality=80, exif=exif.tobytes())
    upload_on_the_form(live_server, page_at, [{"name": "IMG_0002.HEIC", "mimeType": "image/heic", "buffer": heic}])
    assert seen[0]["files"] == {"IMG_0002.HEIC": len(heic)}  # Chromium has no HEIC decoder: the original
    assert seen[0]["fields"]["taken_at"] == "2024-09-19T08:05:00"  # read from the HEIC's Exif item
    assert stored(live_server, "IMG_0002.HEIC") is not None  # and the server converted it


def big_endian_exif(taken: bytes) -> bytes:
    """An APP1 "Exif" block as some Android cameras write it: Motorola byte order ("MM")."""
    import struct

    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + struct.pack(">I", 0)
    exif_ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x9003, 2, 20, 44) + struct.pack(">I", 0)
    tiff = b"MM\x00*" + struct.pack(">I", 8) + ifd0 + exif_ifd + taken + b"\x00"
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff


def test_capture_times_are_read_in_either_byte_order_and_never_break_on_bad_exif(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    read = "bytes => window.qmonthPhotoPrep.dateTimeOriginal(new Uint8Array(bytes).buffer)"
    good = big_endian_exif(b"2024:09:21 16:45:09")
    assert page.evaluate(read, list(good)) == "2024-09-21T16:45:09"
    assert page.evaluate(read, list(good[:40])) == ""  # cut short: unknown, no exception
    assert page.evaluate(read, list(big_endian_exif(b"2024:13:21 16:45:09"))) == ""  # month 13
    assert page.evaluate(read, list(big_endian_exif(b"    :  :     :  :  "))) == ""  # a camera without a clock
    assert page.evaluate(read, list(b"\xff\xd8\xff\xdb no exif here")) == ""
    assert page.console_errors == []
