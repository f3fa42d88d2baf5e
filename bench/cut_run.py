"""bench_browser_upload.py --cut: three 12 MP photos through quick entry's outbox over the weak
link of tests/photos/weak_link.py, each photo's upload cut once mid-transfer (issue 14)."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.photos.weak_link import WeakLink

TARGET_BYTES = 350 * 1024
TARGET_SECONDS = 20
PHONE = {"width": 390, "height": 844}
TITLE = "弱网断线测试：三张现场照片"


def wait(check, timeout_s: float, step_s: float = 0.1):
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        result = check()
        if result:
            return result
        time.sleep(step_s)
    return check()


def stored(app) -> list[tuple[int, list[str]]]:
    """Every activity with the bench's title and its photos' names, as the database holds them."""
    from qmonth.extensions import db
    from qmonth.models import Activity, Photo

    with app.app_context():
        db.session.expire_all()
        rows = db.session.scalars(select(Activity).where(Activity.title == TITLE)).all()
        return [(row.id, sorted(name for name in db.session.scalars(
            select(Photo.original_name).where(Photo.activity_id == row.id)))) for row in rows]


def main(options, *, build_instance, camera_photo, override_shrink, args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qmonth-bench-cut-"))
    try:
        app = build_instance(folder)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        link = WeakLink(server.server_port, up_bps=750_000, down_bps=1_600_000, rtt_ms=150,
                        cut_fraction=options.cut)
        photos = [camera_photo(seed) for seed in range(2, 2 + options.photos)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            # Signed in straight at the server (cookies do not care about the port): only the
            # quick page and what follows go over the link.
            page = browser.new_context(viewport=PHONE).new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/login")
            page.fill("#username", "jinan-zj")
            page.fill("#password", "qmonth-demo")
            page.click("form:not(.inline-form) button[type=submit]")
            page.wait_for_url("**/")
            state = page.context.storage_state()
            # No service worker: page.route (--shrink) must see the page, and every run loads it alike.
            context = browser.new_context(viewport=PHONE, storage_state=state, locale="zh-CN",
                                          service_workers="block")
            quick = context.new_page()
            override_shrink(quick, options.shrink, "/activities/quick")
            quick.goto(f"{link.url}/activities/quick", wait_until="networkidle")
            # Route handlers run only inside Playwright calls, and the wait below polls the database.
            quick.unroute_all()
            quick.select_option("#kind", "site_tour")
            quick.fill("#title", TITLE)
            quick.fill("#county", "历城区")
            quick.fill("#participants", "80")
            link.up_bytes = link.down_bytes = 0

            chosen = time.perf_counter()
            quick.set_input_files("#media input[type=file]", files=[
                {"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg", "buffer": data} for i, data in enumerate(photos)])
            count = f"document.querySelectorAll('#photo-list .photo-card.is-local img').length === {len(photos)}"
            while not quick.evaluate(count):
                quick.wait_for_timeout(100)
            prepared = time.perf_counter() - chosen
            quick.click("button.button-large")
            arrived = wait(lambda: any(len(names) == len(photos) for _id, names in stored(app)),
                           options.timeout)
            received = time.perf_counter() - chosen
            delivered = "document.querySelector('#outbox-list .outbox-entry[data-state=delivered]') !== null"
            deadline = time.perf_counter() + 30
            while not quick.evaluate(delivered) and time.perf_counter() < deadline:
                quick.wait_for_timeout(100)
            shown = time.perf_counter() - chosen
            rows = stored(app)
            browser.close()
        link.close()
        server.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    setting = "the page's own" if options.shrink is None else ("none" if options.shrink == 0 else f"{options.shrink} px")
    cut = f"each upload reset once at {options.cut:.0%} of its bytes" if options.cut else "no cuts"
    print(f"Quick entry + outbox over the relay link (150 ms, 1.6 Mbit/s down, 0.75 up), "
          f"{len(photos)} photos of 12 MP, shrinking: {setting}, {cut}")
    sent = list(link.photos.values())
    for index, (original, photo) in enumerate(zip(photos, sent)):
        cuts = ", ".join(f"{at / 1024:.0f} KB" for at in photo.cuts) or "none"
        print(f"  IMG_{index}.jpg  original {len(original) / 1024:6.0f} KB  photo {photo.length / 1024:6.0f} KB  "
              f"on the wire {photo.wire / 1024:6.0f} KB ({photo.body / 1024:.0f} KB of body, "
              f"{(photo.body - photo.length) / 1024:+.0f} KB resent; {photo.requests} PATCH)  cut at {cuts}")
    largest = max((photo.length for photo in sent), default=0)
    print(f"  upload creations {link.create_wire / 1024:.1f} KB; everything up {link.up_bytes / 1024:.0f} KB, "
          f"down {link.down_bytes / 1024:.0f} KB; resets {link.resets}")
    photo_rows = sum(len(names) for _id, names in rows)
    duplicates = sum(len(names) - len(set(names)) for _id, names in rows)
    print(f"  database: {len(rows)} activity row(s), {photo_rows} photo row(s), {duplicates} duplicate(s)"
          + ("" if arrived else f"  -- NOT all received within {options.timeout:.0f} s"))
    print(f"  shrunk and shown {prepared:.1f} s after choosing; all received {received:.1f} s, "
          f"shown as delivered {shown:.1f} s")
    print(f"  largest photo {largest / 1024:.0f} KB (target <= {TARGET_BYTES // 1024} KB; ratio {largest / TARGET_BYTES:.2f}); "
          f"all received {received:.1f} s (target <= {TARGET_SECONDS} s; ratio {received / TARGET_SECONDS:.2f})")
