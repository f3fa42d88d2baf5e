"""Helpers of the outbox browser tests: a phone's quick entry, the outbox as the page shows it,
what reached the database, and Chromium launched on its own profile, flags or HOME."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Activity

from tests import photo_samples as samples
from tests.conftest import CHROMIUM, DEMO_PASSWORD, chromium_args

PHONE = {"width": 390, "height": 844}
HOST = "qmonth.test"  # mapped to 127.0.0.1 by --host-resolver-rules: not a "potentially trustworthy" origin

OUTBOX_ENTRIES = """() => Array.from(document.querySelectorAll('#outbox-list .outbox-entry')).map(e => ({
  id: e.dataset.clientId, state: e.dataset.state, title: e.querySelector('.outbox-entry-title').textContent,
  status: e.querySelector('.outbox-entry-state').textContent, text: e.textContent}))"""


def wait_until(page, script: str, timeout_s: float = 20) -> bool:
    # Poll from Python: wait_for_function evaluates strings, which the page's CSP forbids.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(script):
            return True
        page.wait_for_timeout(150)
    return bool(page.evaluate(script))


def wait_for(check, timeout_s: float = 30, step_s: float = 0.2):
    """Poll a Python check (e.g. the database) until it returns something true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(step_s)
    return check()


def jpeg(name: str, seed: int, size=(2400, 1800)) -> dict:
    return {"name": name, "mimeType": "image/jpeg",
            "buffer": samples.encode(samples.photo_like(*size, seed=seed), "JPEG", quality=90)}


def log_in(page, base_url: str, username: str = "jinan-zj", password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def quick_entry(page, title: str, photos: int = 0, seed: int = 0) -> None:
    """Fill quick entry, choose photos, wait until each is shrunk and shown, and save."""
    page.select_option("#kind", "site_tour")
    page.fill("#title", title)
    page.fill("#county", "历城区")
    page.fill("#participants", "80")
    if photos:
        page.set_input_files("#media input[type=file]",
                             files=[jpeg(f"IMG_{seed + i}.jpg", seed + i) for i in range(photos)])
        assert wait_until(page, f"document.querySelectorAll('#photo-list .photo-card.is-local img').length === {photos}")
    page.click("button.button-large")
    assert wait_until(page, f"Array.from(document.querySelectorAll('#outbox-list .outbox-entry-title'))"
                            f".some(e => e.textContent === {title!r})")


def outbox(page) -> list[dict]:
    return page.evaluate(OUTBOX_ENTRIES)


def entry_of(page, title: str) -> dict:
    return next(entry for entry in outbox(page) if entry["title"] == title)


def arrived(server, title: str) -> list[tuple[int, list[str]]]:
    """Every activity with this title, with its photos' original names: [(id, names)]."""
    with server.app.app_context():
        db.session.expire_all()
        rows = db.session.scalars(select(Activity).where(Activity.title == title)).all()
        return [(row.id, sorted(photo.original_name for photo in row.photos)) for row in rows]


def arrived_with(server, title: str, photo_count: int):
    found = arrived(server, title)
    return found if len(found) == 1 and len(found[0][1]) == photo_count else None


def hold_sending(server) -> dict:
    """While held["on"], the server answers the outbox's "who is signed in" with 503 (a server
    that is down), so nothing is sent; held in the server, since a route in the page does not see
    the requests that go through a service worker."""
    held = {"on": True, "refused": 0}
    app = server.app.wsgi_app

    def middleware(environ, start_response):
        if held["on"] and environ["PATH_INFO"] == "/activities/outbox/session":
            held["refused"] += 1
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        return app(environ, start_response)

    server.app.wsgi_app = middleware
    return held


def launch_phone(playwright, profile: Path | None = None, *, extra_args=(), env=None):
    """Chromium at phone size: a persistent profile (what survives a kill) or a plain browser.
    Returns (context, close)."""
    args = chromium_args(playwright, *extra_args)
    if profile is not None:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=args, viewport=PHONE, locale="zh-CN", env=env)
        return context, context.close
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, env=env)
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    return context, browser.close


def kill_browser(profile: Path) -> int:
    """SIGKILL the Chromium whose profile is `profile` (its main process, found by its own
    --user-data-dir, never by name); returns its pid."""
    marker = f"--user-data-dir={profile}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in argv and not any(arg.startswith(b"--type=") for arg in argv):
            pid = int(entry.name)
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):  # until it is gone
                if not Path(f"/proc/{pid}").exists() or b"State:\tZ" in Path(f"/proc/{pid}/status").read_bytes():
                    break
                time.sleep(0.05)
            return pid
    raise AssertionError(f"no Chromium with {marker!r}")


def serve(app, *, ssl_context=None):
    """The app on a loopback port in a thread (optionally over TLS); returns (server, port)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port
