"""Real Chromium: photos uploaded from a phone go into the store and show at the office."""
import os

import pytest
from sqlalchemy import select

from qmonth.models import Activity
from qmonth.photos.storage import PHOTO_VARIANTS, photo_key
from qmonth.storage import uploads

from tests import photo_samples as samples
from tests.conftest import browser_login

pytestmark = pytest.mark.xdist_group("object-store")

LOADED = ("() => Array.from(document.querySelectorAll('#media .photo-card img'))"
          ".every(i => i.complete && i.naturalWidth > 0)")


def test_photos_from_a_phone_are_stored_and_shown_at_the_office(live_server, page_at, store_kind):
    phone = page_at(390, 844)
    browser_login(phone, live_server, "jinan-zj")
    phone.goto(f"{live_server.url}/activities/quick")
    phone.select_option("#kind", "site_tour")
    phone.fill("#title", "桥梁工程质量观摩会")
    phone.fill("#county", "历下区")
    phone.fill("#participants", "60")
    phone.set_input_files("#media input[type=file]", files=[
        {"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg",
         "buffer": samples.encode(samples.photo_like(1600, 1200, seed=i), "JPEG", quality=90)} for i in range(2)])
    phone.locator("#photo-list .photo-card.is-local img").nth(1).wait_for(timeout=30000)
    phone.click("button.button-large")
    # Quick entry keeps the entry in the phone's outbox, then sends it (static/js/outbox.js).
    phone.locator(".outbox-entry[data-state=delivered]").first.wait_for(timeout=60000)

    with live_server.app.app_context():
        from qmonth.extensions import db

        activity = db.session.scalar(select(Activity).where(Activity.title == "桥梁工程质量观摩会"))
        keys = [photo_key(p.storage_key, v) for p in activity.photos for v in PHOTO_VARIANTS]
        assert len(keys) == 6 and all(uploads().exists(key) for key in keys)
        assert uploads().kind == store_kind

    desk = page_at(1280, 900)
    browser_login(desk, live_server, "jinan-zj")
    desk.goto(f"{live_server.url}/activities/{activity.id}/edit")
    assert desk.locator("#media .photo-card img").count() == 2
    # Poll from Python: wait_for_function evaluates strings, which the page's CSP forbids.
    for _ in range(100):
        if desk.evaluate(LOADED):
            break
        desk.wait_for_timeout(100)
    assert desk.evaluate(LOADED)
    assert phone.console_errors == [] and desk.console_errors == []
    if os.environ.get("QMONTH_SCREENSHOTS"):
        desk.locator("#media").scroll_into_view_if_needed()
        desk.screenshot(path=f"{os.environ['QMONTH_SCREENSHOTS']}/storage-{store_kind}-desk.png")
