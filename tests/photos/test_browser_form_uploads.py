"""Real Chromium, the activity form's uploader (static/js/uploads.js): each photo goes as a
resumable upload under the phone's client id, so a cut resumes from what the server kept, a lost
answer is learned from the server rather than sent again, a repeat is "already received", and
after the quick retries an item waits on a slower timer, says so and offers 「重试」."""
import os
import re

from sqlalchemy import func, select

from qmonth.extensions import db
from qmonth.models import Photo

from tests.activities.outbox_support import jpeg, log_in, wait_until
from tests.conftest import browser_login
from tests.photos.weak_link import WeakLink

CUT_LOSS_BYTES = 16 * 1024  # qmonth/photos/resumable.py: a cut loses at most the piece being read
CLIENT_ID = re.compile(rb'(name="client_id"\r\n\r\n)[0-9a-f-]{36}')
CARDS = "document.querySelectorAll('#photo-list .photo-card').length"


def photo_rows(server, activity_id: int) -> list[str]:
    with server.app.app_context():
        db.session.expire_all()
        return sorted(db.session.scalars(select(Photo.original_name).where(Photo.activity_id == activity_id)))


def test_photos_cut_mid_body_and_their_answers_lost_arrive_once(live_server, page_at, make_activity):
    activity = make_activity(title="断点续传的培训会")
    link = WeakLink(live_server.server_port, up_bps=20_000_000, down_bps=20_000_000, rtt_ms=10, cut_fraction=0.4,
                    drop_last_answer=True)
    try:
        page = page_at(390, 844)
        log_in(page, link.url)
        page.goto(f"{link.url}/activities/{activity.id}/edit")
        page.set_input_files("#media input[type=file]", files=[jpeg(f"IMG_{i}.jpg", i) for i in range(2)])
        assert wait_until(page, f"{CARDS} === 2 && !document.querySelector('.upload-queue .upload-item')", 60)
        photos = list(link.photos.values())
        assert len(photos) == 2 and link.resets == 4
        for photo in photos:
            assert len(photo.cuts) == 1 and photo.answers_dropped == 1, photo
            # Resumed, not restarted: at most the piece the server was reading when it broke goes again.
            assert photo.body <= photo.length + CUT_LOSS_BYTES, photo
        page.wait_for_timeout(1000)  # a late repeat would land now
        assert page.evaluate(CARDS) == 2
        assert page.inner_text(".photo-count") == "2"
        assert sorted(page.locator("#photo-list .photo-card img").evaluate_all(
            "images => images.map(i => i.alt)")) == ["IMG_0.jpg", "IMG_1.jpg"]
        assert photo_rows(live_server, activity.id) == ["IMG_0.jpg", "IMG_1.jpg"]
        assert page.locator(".upload-item.is-failed").count() == 0
        assert all("Failed to load resource" in e or "net::" in e for e in page.console_errors), page.console_errors
    finally:
        link.close()


def test_a_photo_sent_again_under_the_same_client_id_is_already_received(live_server, page_at, make_activity):
    """As when a second tab or a re-sent form repeats a photo: the server knows its client id."""
    activity = make_activity(title="同一照片重复发送")
    page = page_at(390, 844, service_workers="block")
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/{activity.id}/edit")

    def same_client_id(route):
        body = CLIENT_ID.sub(rb"\g<1>0b6c2a55-3f0e-4c1e-9d53-7a1e2b3c4d5e", route.request.post_data_buffer)
        route.continue_(post_data=body)

    page.route(re.compile(r".*/photo-uploads$"), same_client_id)
    photo = jpeg("IMG_7.jpg", 7, size=(1600, 1200))
    page.set_input_files("#media input[type=file]", files=[photo])
    assert wait_until(page, f"{CARDS} === 1 && !document.querySelector('.upload-queue .upload-item')", 30)
    page.set_input_files("#media input[type=file]", files=[photo])
    item = page.locator(".upload-queue .upload-item")
    item.wait_for()
    assert wait_until(page, "document.querySelector('.upload-queue .upload-item.is-done') !== null", 30)
    assert item.inner_text().endswith("“IMG_7.jpg”已收到，无需重复上传。")
    assert page.locator(".upload-item.is-failed").count() == 0
    assert page.evaluate(CARDS) == 1 and page.inner_text(".photo-count") == "1"
    assert photo_rows(live_server, activity.id) == ["IMG_7.jpg"]
    item.wait_for(state="detached", timeout=10000)  # the note goes after a few seconds
    assert page.console_errors == []


def test_after_the_quick_retries_an_item_waits_says_so_and_can_be_retried(live_server, page_at, make_activity):
    activity = make_activity(title="断网后继续上传")
    page = page_at(390, 844, service_workers="block")
    page.clock.install()  # the waits (1 to 16 s, then 30 s and more) pass at the test's pace
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/{activity.id}/edit")
    down = {"on": True, "seen": 0}

    def network(route):
        if down["on"]:
            down["seen"] += 1
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*/photo-uploads(/[0-9a-f]+)?$"), network)
    page.set_input_files("#media input[type=file]", files=[jpeg("IMG_9.jpg", 9, size=(1600, 1200))])
    item = page.locator(".upload-queue .upload-item")
    for _ in range(80):
        if page.locator(".upload-item.is-paused").count():
            break
        page.clock.run_for(1000)
        page.wait_for_timeout(50)
    assert page.locator(".upload-item.is-paused").count() == 1
    assert down["seen"] == 6  # the first try and five quick retries
    assert item.locator(".upload-status").inner_text() == "网络中断，已暂停，30 秒后自动重试。"
    button = item.get_by_role("button", name="重试")
    assert button.is_visible() and button.bounding_box()["height"] >= 44
    dock = page.locator(".upload-dock")
    assert dock.is_visible() and "已暂停" in dock.inner_text()
    if os.environ.get("QMONTH_SCREENSHOTS"):
        item.scroll_into_view_if_needed()
        page.screenshot(path=f"{os.environ['QMONTH_SCREENSHOTS']}/form-upload-paused-390.png")
        page.set_viewport_size({"width": 1280, "height": 900})
        item.scroll_into_view_if_needed()
        page.screenshot(path=f"{os.environ['QMONTH_SCREENSHOTS']}/form-upload-paused-1280.png")
        page.set_viewport_size({"width": 390, "height": 844})

    # The slow timer keeps trying (30 s, then 60 s) while the page is open; nothing is given up.
    page.clock.run_for(31000)
    page.wait_for_timeout(300)
    assert down["seen"] == 7
    assert "60 秒后自动重试" in item.inner_text() or "1 分钟后自动重试" in item.inner_text()
    assert page.locator(".upload-item.is-failed").count() == 0

    down["on"] = False
    button.click()
    assert wait_until(page, f"{CARDS} === 1 && !document.querySelector('.upload-queue .upload-item')", 30)
    assert photo_rows(live_server, activity.id) == ["IMG_9.jpg"]
    assert page.inner_text(".photo-count") == "1"
    assert not dock.is_visible()


def test_a_file_chosen_again_is_already_received(live_server, page_at, make_activity):
    """Files carry no client id: the same bytes again on the same activity (a retry after a lost
    answer, or chosen twice) are answered "already received" and listed once."""
    activity = make_activity(title="活动方案重复上传")
    page = page_at(390, 844, service_workers="block")
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/{activity.id}/edit")
    plan = {"name": "活动方案.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n%....\n%%EOF\n"}
    files = "#media [data-field=file] input[type=file]"
    page.set_input_files(files, files=[plan])
    page.locator("#attachment-list .attachment").first.wait_for(timeout=20000)
    page.set_input_files(files, files=[plan])
    assert wait_until(page, "document.querySelector('.upload-queue .upload-item.is-done') !== null", 20)
    assert "“活动方案.pdf”已收到，无需重复上传。" in page.inner_text("#media")
    assert page.locator("#attachment-list .attachment").count() == 1
    with live_server.app.app_context():
        from qmonth.models import Attachment

        assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.activity_id == activity.id)) == 1
    assert page.console_errors == []
