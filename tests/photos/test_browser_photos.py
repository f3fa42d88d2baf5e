"""Real Chromium at phone size: photos from the site, a dropped connection, and no JavaScript."""
import re

from sqlalchemy import select

from qmonth.models import Activity

from tests import photo_samples as samples
from tests.conftest import browser_login
from tests.helpers import assert_fits_width


def jpeg_file(name: str, seed: int, size=(1600, 1200)) -> dict:
    return {"name": name, "mimeType": "image/jpeg",
            "buffer": samples.encode(samples.photo_like(*size, seed=seed), "JPEG", quality=90)}


def photos_of(server, title):
    with server.app.app_context():
        from qmonth.extensions import db

        activity = db.session.scalar(select(Activity).where(Activity.title == title))
        return activity, [p.original_name for p in activity.photos]


def test_five_photos_on_the_quick_page_then_seen_at_the_office(live_server, page_at):
    phone = page_at(390, 844)
    browser_login(phone, live_server, "jinan-zj")
    phone.goto(f"{live_server.url}/activities/quick")
    phone.select_option("#kind", "site_tour")
    phone.fill("#title", "住宅工程质量观摩会")
    phone.fill("#county", "历城区")
    phone.fill("#participants", "120")
    uploads = []
    phone.on("request", lambda r: r.method == "POST" and "/photo-uploads" in r.url and uploads.append(r))
    phone.set_input_files("#media input[type=file]", files=[jpeg_file(f"IMG_{i}.jpg", i) for i in range(5)])
    phone.locator("#photo-list .photo-card.is-local img").nth(4).wait_for(timeout=30000)
    assert_fits_width(phone, 390)
    phone.click("button.button-large")
    # Quick entry keeps the entry in the phone's outbox, then sends it (static/js/outbox.js).
    assert "已保存在本机" in phone.inner_text("#outbox-saved")
    phone.locator(".outbox-entry[data-state=delivered]").first.wait_for(timeout=60000)
    assert "已送达（" in phone.inner_text(".outbox-entry")
    assert len(uploads) == 5
    assert phone.console_errors == []

    _activity, names = photos_of(live_server, "住宅工程质量观摩会")
    assert names == [f"IMG_{i}.jpg" for i in range(5)]
    desk = page_at(1280, 900)
    browser_login(desk, live_server, "jinan-zj")
    desk.goto(live_server.url + phone.locator(".outbox-entry a").get_attribute("href"))
    images = desk.locator("#media .photo-card img")
    assert images.count() == 5
    # Poll from Python: wait_for_function evaluates strings, which the page's CSP forbids.
    loaded = "() => Array.from(document.querySelectorAll('#media .photo-card img')).every(i => i.complete && i.naturalWidth > 0)"
    for _ in range(100):
        if desk.evaluate(loaded):
            break
        desk.wait_for_timeout(100)
    assert desk.evaluate(loaded)


def test_a_dropped_upload_is_retried_and_succeeds(live_server, page_at):
    page = page_at(390, 844, service_workers="block")
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")  # uploads.js: the form's immediate uploads
    failures = {"left": 1}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/photo-uploads$"), flaky)  # the resumable upload's creation
    page.set_input_files("#media input[type=file]", files=[jpeg_file("flaky.jpg", 7)])
    page.locator(".upload-item.is-retrying").wait_for()
    assert "自动重试" in page.inner_text(".upload-status")
    page.locator("#photo-list .photo-card").first.wait_for(timeout=20000)
    assert failures["left"] == 0
    assert "flaky.jpg" in page.inner_text("#photo-list")


def test_a_big_photo_is_shrunk_in_the_browser(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    big = jpeg_file("big.jpg", 3, size=(4000, 3000))
    page.set_input_files("#media input[type=file]", files=[big])
    page.locator("#photo-list .photo-card").first.wait_for(timeout=30000)
    sent = int(page.get_attribute("#media [data-uploader]", "data-last-bytes"))
    assert sent < 700 * 1024 < len(big["buffer"])


def test_without_javascript_the_form_still_uploads(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        browser_login(page, live_server, "heze-sw")
        page.goto(f"{live_server.url}/activities/quick")
        page.select_option("#kind", "inspection")
        page.fill("#title", "无脚本上传测试")
        page.fill("#county", "牡丹区")
        page.set_input_files("#media input[type=file]", files=[jpeg_file("nojs.jpg", 11)])
        page.click("button.button-large")
        page.wait_for_url(re.compile(r"/activities/\d+$"))
        _activity, names = photos_of(live_server, "无脚本上传测试")
        assert names == ["nojs.jpg"]
        assert page.locator("#media .photo-card img").count() == 1
    finally:
        context.close()
