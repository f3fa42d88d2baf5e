"""What a phone downloads and uploads: the quick-entry page's weight and the bytes
the browser sends for a 12-megapixel photo after shrinking it.

Run: .venv/bin/python bench/bench_browser_upload.py   (needs Debian's chromium)
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from qmonth import create_app  # noqa: E402
from tests import photo_samples as samples  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def build_instance(folder: Path):
    app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'qmonth.db'}"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    runner = app.test_cli_runner()
    runner.invoke(args=["campaign", "load", str(ROOT / "qmonth/campaigns/2024-shandong.toml")])
    runner.invoke(args=["seed-demo", "--activities", "0"])
    return app


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="qmonth-bench-"))
    try:
        app = build_instance(folder)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        photo = samples.encode(samples.photo_like(4000, 3000, seed=1), "JPEG", quality=92,
                               exif=samples.exif_with(6, gps=True))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(f"{base}/login")
            page.fill("#username", "jinan-zj")
            page.fill("#password", "qmonth-demo")
            page.click("form:not(.inline-form) button[type=submit]")
            page.wait_for_url(f"{base}/")

            context = browser.new_context(viewport={"width": 390, "height": 844},
                                          storage_state=page.context.storage_state())
            quick = context.new_page()
            sizes: dict[str, int] = {}
            loading = True
            quick.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok and loading else None)
            quick.goto(f"{base}/activities/quick", wait_until="networkidle")
            loading = False
            sizes = dict(sizes)  # the page alone, before any upload
            total = sum(sizes.values())

            started = time.perf_counter()
            quick.set_input_files("#media input[type=file]",
                                  files=[{"name": "IMG_12MP.jpg", "mimeType": "image/jpeg", "buffer": photo}])
            quick.locator("#photo-list .photo-card").first.wait_for(timeout=60000)
            elapsed = time.perf_counter() - started
            sent = int(quick.get_attribute("#media [data-uploader]", "data-last-bytes"))
            browser.close()
        server.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print("Quick-entry page, first load without photos (uncompressed bytes):")
    for url, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {size / 1024:8.1f} KB  {url.replace(base, '')}")
    print(f"  {total / 1024:8.1f} KB  total   (target < 100 KB; ratio {total / (100 * 1024):.2f})")
    print()
    print(f"12-megapixel photo: original {len(photo) / 1024:.0f} KB, sent after shrinking {sent / 1024:.0f} KB "
          f"(target < 700 KB; ratio {sent / (700 * 1024):.2f}); shrink + upload + server processing {elapsed:.2f} s")


if __name__ == "__main__":
    main()
