"""What a phone downloads and uploads: the quick-entry page's weight, the bytes the browser sends
for a 12-megapixel photo after shrinking it, and three such photos over a weak 4G link.

Run: .venv/bin/python bench/bench_browser_upload.py            (needs Debian's chromium)
     .venv/bin/python bench/bench_browser_upload.py --shrink 0 (send the originals: no shrinking)
     .venv/bin/python bench/bench_browser_upload.py --no-weak-link   (the quick figures only)
     .venv/bin/python bench/bench_browser_upload.py --cut 0.4  (quick entry's outbox, each photo's
                                                                upload cut once at 40 %)

The weak link is Chromium's own throttling through CDP (Network.emulateNetworkConditions):
150 ms latency, 1.6 Mbit/s down, 0.75 Mbit/s up, as measured on a site in issue 14. With --cut
the link is a relay instead (tests/photos/weak_link.py: the same rates and latency on real TCP), and
each photo's resumable upload is reset once when `--cut` of its bytes went up (0: no cuts).
"""
from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import ExifTags  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from qmonth import create_app  # noqa: E402
from tests import photo_samples as samples  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WEAK_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
TARGET_BYTES = 350 * 1024
TARGET_SECONDS = 20


def build_instance(folder: Path):
    # The 2024 campaign as it ran (inside its window): with today's clock the bureau would be locked.
    app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench", "DEMO_CLOCK": "2024-09-20T09:00:00+08:00",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'qmonth.db'}"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    runner = app.test_cli_runner()
    runner.invoke(args=["campaign", "load", str(ROOT / "qmonth/campaigns/2024-shandong.toml")])
    runner.invoke(args=["seed-demo", "--activities", "0"])
    return app


def camera_photo(seed: int) -> bytes:
    """A 12 MP phone photo (4000 x 3000) with the EXIF a camera writes: orientation, GPS, capture time."""
    exif = samples.exif_with(6, gps=True)
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:09:18 10:12:33"
    return samples.encode(samples.photo_like(4000, 3000, seed=seed), "JPEG", quality=92, exif=exif.tobytes())


def record_photo_posts(app) -> list[list]:
    """[arrival time of its last bytes, body bytes] of every photo the form's uploader sent: each
    photo is a resumable upload (POST .../photo-uploads, then PATCH /photo-uploads/<token>)."""
    seen: list[list] = []
    by_url: dict[str, list] = {}
    inner = app.wsgi_app

    def recording(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method == "POST" and path.endswith("/photo-uploads"):
            answer = b"".join(inner(environ, start_response))
            url = json.loads(answer).get("url")
            if url and url not in by_url:
                by_url[url] = [time.perf_counter(), 0]
                seen.append(by_url[url])
            return [answer]
        if method == "PATCH" and path in by_url:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            answer = b"".join(inner(environ, start_response))
            by_url[path][0] = time.perf_counter()
            by_url[path][1] += len(body)
            return [answer]
        return inner(environ, start_response)

    app.wsgi_app = recording
    return seen


def override_shrink(page, shrink: int | None, path: str = "/activities/new") -> None:
    """Serve the form (its uploader sends each photo at once; quick entry now keeps them in the outbox first) with another data-shrink (0: send the originals); the uploader reads it once."""
    if shrink is None:
        return

    def rewrite(route):
        if route.request.method != "GET":  # quick entry's outbox posts to the same path
            route.continue_()
            return
        response = route.fetch()
        body = re.sub(r'data-shrink="\d+"', f'data-shrink="{shrink}"', response.text())
        route.fulfill(response=response, body=body)

    page.route(re.compile(".*" + re.escape(path) + "$"), rewrite)


def quick_page(browser, base: str, storage_state, shrink: int | None):
    context = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=storage_state)
    page = context.new_page()
    override_shrink(page, shrink)
    page.goto(f"{base}/activities/new", wait_until="networkidle")
    return context, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shrink", type=int, default=None,
                        help="long side the browser shrinks to (default: the page's own; 0: no shrinking)")
    parser.add_argument("--photos", type=int, default=3, help="photos sent over the weak link (default 3)")
    parser.add_argument("--no-weak-link", action="store_true", help="skip the weak-4G run")
    parser.add_argument("--timeout", type=float, default=900, help="--cut: seconds to wait for the photos")
    parser.add_argument("--cut", type=float, default=None, metavar="FRACTION",
                        help="only the outbox run over the relay link, each photo's upload reset once "
                             "when this fraction of it went up (0: the relay link without cuts)")
    options = parser.parse_args()
    if options.cut is not None:
        from cut_run import main as cut_main

        cut_main(options, build_instance=build_instance, camera_photo=camera_photo,
                 override_shrink=override_shrink, args=ARGS)
        return

    folder = Path(tempfile.mkdtemp(prefix="qmonth-bench-"))
    try:
        app = build_instance(folder)
        posts = record_photo_posts(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        photo = camera_photo(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(f"{base}/login")
            page.fill("#username", "jinan-zj")
            page.fill("#password", "qmonth-demo")
            page.click("form:not(.inline-form) button[type=submit]")
            page.wait_for_url(f"{base}/")
            state = page.context.storage_state()

            context = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=state)
            quick = context.new_page()
            sizes: dict[str, int] = {}
            loading = True
            quick.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok and loading else None)
            override_shrink(quick, options.shrink)
            quick.goto(f"{base}/activities/new", wait_until="networkidle")
            loading = False
            sizes = dict(sizes)  # the page alone, before any upload
            total = sum(sizes.values())

            started = time.perf_counter()
            quick.set_input_files("#media input[type=file]",
                                  files=[{"name": "IMG_12MP.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            quick.locator("#photo-list .photo-card").first.wait_for(timeout=60000)
            elapsed = time.perf_counter() - started
            sent = int(quick.get_attribute("#media [data-uploader]", "data-last-bytes"))
            context.close()

            weak = None
            if not options.no_weak_link:
                photos = [camera_photo(seed) for seed in range(2, 2 + options.photos)]
                context, weak_page = quick_page(browser, base, state, options.shrink)
                cdp = context.new_cdp_session(weak_page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", WEAK_4G)
                del posts[:]
                chosen = time.perf_counter()
                weak_page.set_input_files("#media input[type=file]", files=[
                    {"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg", "buffer": data} for i, data in enumerate(photos)])
                weak_page.locator("#photo-list .photo-card").nth(len(photos) - 1).wait_for(timeout=600000)
                shown = time.perf_counter() - chosen
                weak = {"originals": [len(p) for p in photos], "sent": [size for _at, size in posts],
                        "received": posts[-1][0] - chosen, "shown": shown}
                context.close()
            browser.close()
        server.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print("Quick-entry page, first load without photos (uncompressed bytes):")
    for url, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {size / 1024:8.1f} KB  {url.replace(base, '')}")
    print(f"  {total / 1024:8.1f} KB  total   (target < 100 KB; ratio {total / (100 * 1024):.2f})")
    print()
    print(f"12-megapixel photo: original {len(photo) / 1024:.0f} KB, sent {sent / 1024:.0f} KB "
          f"(target <= {TARGET_BYTES // 1024} KB; ratio {sent / TARGET_BYTES:.2f}); "
          f"shrink + upload + server processing {elapsed:.2f} s")
    if weak:
        print()
        setting = "the page's own" if options.shrink is None else ("none" if options.shrink == 0 else f"{options.shrink} px")
        print(f"Weak 4G (150 ms, 1.6 Mbit/s down, 0.75 up), {len(weak['sent'])} photos of 12 MP, shrinking: {setting}")
        for index, (original, size) in enumerate(zip(weak["originals"], weak["sent"])):
            print(f"  IMG_{index}.jpg  original {original / 1024:6.0f} KB  sent {size / 1024:6.0f} KB (request body)")
        print(f"  largest sent {max(weak['sent']) / 1024:.0f} KB (target <= {TARGET_BYTES // 1024} KB); "
              f"all received {weak['received']:.1f} s after choosing, all shown {weak['shown']:.1f} s "
              f"(target <= {TARGET_SECONDS} s; ratio {weak['shown'] / TARGET_SECONDS:.2f})")


if __name__ == "__main__":
    main()
