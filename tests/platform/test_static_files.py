"""Static files under fingerprinted URLs: pages name them with ?v=, the browser keeps them until
they change, and anything else asked of /static/ is checked each time as before."""
from __future__ import annotations

import hashlib
import re

from qmonth import ROOT
from qmonth.static_files import IMMUTABLE, Fingerprints

from tests.conftest import browser_login

STATIC = ROOT / "static"


def fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def test_pages_name_each_static_file_with_its_fingerprint_and_it_is_kept_for_a_year(app_without_database):
    client = app_without_database.test_client()
    html = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {"/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js"} <= {url.split("?")[0] for url in urls}
    for url in urls:
        path, _, query = url.partition("?")
        assert query == f"v={fingerprint(path[len('/static/'):])}", url
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        assert response.get_data() == (STATIC / path[len("/static/"):]).read_bytes()


def test_a_static_file_asked_without_its_current_fingerprint_is_checked_each_time(app_without_database):
    client = app_without_database.test_client()
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000", "/static/css/app.css?v=",
                "/static/fonts/HanaMinA-QMExt.ttf", "/static/css/app.css?v=" + fingerprint("css/app.css") + "x"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-cache", url
        assert response.headers["ETag"], url
    assert client.get("/static/css/nope.css?v=000000000000").status_code == 404


def test_a_fingerprint_follows_the_files_content(tmp_path):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "site.css"
    sheet.write_text("body { color: black; }", encoding="utf-8")
    fingerprints = Fingerprints(str(tmp_path))
    first = fingerprints.of("css/site.css")
    assert first == hashlib.sha256(sheet.read_bytes()).hexdigest()[:12]
    sheet.write_text("body { color: #333; }", encoding="utf-8")
    second = fingerprints.of("css/site.css")
    assert second == hashlib.sha256(sheet.read_bytes()).hexdigest()[:12] and second != first
    assert fingerprints.of("css") is None  # a folder
    assert fingerprints.of("css/missing.css") is None
    assert fingerprints.of("../outside.css") is None


def test_going_from_page_to_page_asks_for_no_style_or_script_again(live_server, page_at):
    asked: list[str] = []
    app = live_server.app.wsgi_app

    def counting(environ, start_response):
        if environ["PATH_INFO"].startswith("/static/"):
            asked.append(environ["PATH_INFO"])
        return app(environ, start_response)

    live_server.app.wsgi_app = counting
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/")
    assert "/static/css/app.css" in asked and "/static/vendor/htmx-2.0.11.min.js" in asked
    # The service worker has kept the quick-entry shell (its install fetched it alongside the page).
    assert page.evaluate("navigator.serviceWorker.ready.then(() => caches.keys()).then(k => k.length)") == 1
    asked.clear()
    for path in ("/", "/activities/", "/activities/new", "/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
    # The new entry form's own sheet and scripts come once; nothing the pages share is asked again.
    assert len(asked) == len(set(asked)), asked
    assert not {"/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js", "/static/js/page.js"} & set(asked), asked
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("qm-ext-a")
    assert page.console_errors == []
