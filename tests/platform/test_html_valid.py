"""Every main page of every role is valid HTML for the Nu HTML Checker (vnu).

The pages are fetched with the test client, written to files, and checked by one
`java -jar vnu.jar` call: one JVM for the whole run, because starting Java costs
more than checking forty pages. scripts/test installs Java and the checker and sets
QMONTH_VNU_JAR; there (QMONTH_REQUIRE_BROWSER=1) or in CI a missing checker fails the test.
The HTML does not depend on the database engine, so the check runs on SQLite only.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from qmonth.models import ActivityState

from tests import photo_samples as samples
from tests.conftest import _make_app
from tests.helpers import csrf_token_from


def _vnu_jar() -> str:
    """QMONTH_VNU_JAR, else the jar scripts/test left in the user's cache (plain pytest runs)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qmonth"
    installed = sorted(cache.glob("vnu-jar-*/node_modules/vnu-jar/build/dist/vnu.jar"))
    return os.environ.get("QMONTH_VNU_JAR") or (str(installed[-1]) if installed else "")


VNU_JAR = _vnu_jar()

# A page with one known error: proves that the checker ran and reports what it finds.
CANARY_PAGE = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>对照</title></head>'
               '<body><div hx-get="/">对照</div></body></html>')
# Fragments that htmx swaps into a page are checked inside this minimal document.
FRAGMENT_PAGE = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>片段</title></head>'
                 "<body>{}</body></html>")


def _checker() -> list[str]:
    """The command that runs vnu, or fail/skip the test when Java or the jar is missing."""
    java = shutil.which("java")
    if java and VNU_JAR and Path(VNU_JAR).is_file():
        # C1 only: in a JVM that lives a few seconds, C2 compiling costs more than it
        # saves (3 s instead of 8 s for the pages below). A large stack for deep pages.
        return [java, "-XX:TieredStopAtLevel=1", "-Xss8m", "-jar", VNU_JAR]
    if os.environ.get("QMONTH_REQUIRE_BROWSER") or os.environ.get("CI"):
        pytest.fail("The Nu HTML Checker is missing: scripts/test installs Java and vnu.jar")
    pytest.skip("Nu HTML Checker not installed (run scripts/test, or set QMONTH_VNU_JAR)")


def _fetch(client, path: str, *, status: int = 200, headers: dict | None = None) -> str:
    response = client.get(path, headers=headers or {})
    assert response.status_code == status, f"{path}: {response.status_code}"
    return response.get_data(as_text=True)


def _post(client, path: str, data: dict, *, status: int) -> str:
    """Post a form with the CSRF token of the page it comes from; the answer's HTML."""
    token = csrf_token_from(_fetch(client, path))
    response = client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == status, f"POST {path}: {response.status_code}"
    return response.get_data(as_text=True)


def _upload(client, path: str, field: str, name: str, data: bytes) -> int:
    """Upload a photo or a file as the page's script does; the new row's id."""
    token = csrf_token_from(_fetch(client, "/activities/new"))
    response = client.post(path, data={field: (io.BytesIO(data), name)}, content_type="multipart/form-data",
                           headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["id"]


def _log_in(client, username: str) -> None:
    """Log out whoever is logged in, then log in through the form."""
    page = client.get("/login")
    if page.status_code == 302:
        client.post("/logout", data={"csrf_token": csrf_token_from(_fetch(client, "/"))})
        page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": "qmonth-demo",
                                           "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302, f"login as {username} failed"


def _pages_of_every_role(client, make_activity) -> dict[str, str]:
    """Name -> HTML of the main pages of each role, print previews, error pages and a
    few htmx fragments."""
    draft = make_activity(title="校验用草稿")
    submitted = make_activity(title="校验用已报送活动", state=ActivityState.SUBMITTED)
    returned = make_activity(title="校验用退回活动", state=ActivityState.RETURNED, return_reason="请补充活动照片。")
    pages = {"login": _fetch(client, "/login")}

    _log_in(client, "province")
    bulletins = _fetch(client, "/reports/bulletins/")
    form_key = re.search(r'name="form_key" value="([0-9a-f]+)"', bulletins).group(1)
    created = client.post("/reports/bulletins/new", data={"form_key": form_key,
                                                          "csrf_token": csrf_token_from(bulletins)})
    assert created.status_code == 302
    # An unread reminder, so that the bureau's pages show the badge in the navigation.
    sent = client.post("/board/reminders", data={"units": ["jinan-zj"], "message": "请尽快报送总结报告。",
                                                 "target": "selected", "csrf_token": csrf_token_from(bulletins)})
    assert sent.status_code == 302
    pages.update({
        "province-home": _fetch(client, "/"),
        "province-activities": _fetch(client, "/activities/"),
        "province-reviews": _fetch(client, "/reviews/"),
        "province-reviews-accepted": _fetch(client, "/reviews/?state=accepted&page=2"),
        "province-board": _fetch(client, "/board/"),
        "province-board-stats": _fetch(client, "/board/stats"),
        "province-board-highlights": _fetch(client, "/board/highlights"),
        "province-board-reminders": _fetch(client, "/board/reminders"),
        "province-board-unit": _fetch(client, "/board/units/jinan-zj"),
        "province-board-drilled": _fetch(client, "/board/?under=jinan-zj"),
        "province-audit": _fetch(client, "/admin/audit"),
        "province-campaigns": _fetch(client, "/board/campaigns"),
        "province-campaign": _fetch(client, "/campaign"),
        "province-bulletins": bulletins,
        "province-bulletin-edit": _fetch(client, created.headers["Location"]),
        "province-report": _fetch(client, "/reports/"),
        "province-unit-report": _fetch(client, "/reports/jinan-zj"),
        "print-province-report": _fetch(client, "/reports/province/preview"),
        "print-unit-report": _fetch(client, "/reports/jinan-zj/preview"),
        "province-root-report": _fetch(client, "/reports/shandong-zjt"),
        "print-root-report": _fetch(client, "/reports/shandong-zjt/preview"),
        "print-bulletin": _fetch(client, created.headers["Location"].rstrip("/") + "/preview"),
    })

    _log_in(client, "jinan-zj")
    photo_id = _upload(client, f"/activities/{draft.id}/photos", "photo", "现场.jpg",
                       samples.encode(samples.photo_like(320, 240), "JPEG"))
    _upload(client, f"/activities/{draft.id}/files", "file", "活动方案.pdf", b"%PDF-1.7\n%....\n%%EOF\n")
    pages.update({
        "reporter-home": _fetch(client, "/"),
        "reporter-activities": _fetch(client, "/activities/"),
        "reporter-new-activity": _fetch(client, "/activities/new"),
        "reporter-quick-entry": _fetch(client, "/activities/quick"),
        "reporter-activity-detail": _fetch(client, f"/activities/{submitted.id}"),
        "reporter-draft-detail": _fetch(client, f"/activities/{draft.id}"),
        "reporter-activity-edit": _fetch(client, f"/activities/{draft.id}/edit"),
        "reporter-activity-delete": _fetch(client, f"/activities/{draft.id}/delete"),
        "reporter-photo-delete": _fetch(client, f"/photos/{photo_id}/delete"),
        "reporter-returned-detail": _fetch(client, f"/activities/{returned.id}"),
        "reporter-invalid-form": _post(client, "/activities/new", {"title": ""}, status=422),
        "reporter-activities-filtered": _fetch(client, "/activities/?state=submitted&sort=title&page=1"),
        "reporter-activity-history": _fetch(client, f"/activities/{submitted.id}/history"),
        "reporter-password": _fetch(client, "/account/password"),
        "reporter-reminders": _fetch(client, "/board/reminders"),
        "error-403": _fetch(client, "/board/", status=403),
        "error-404": _fetch(client, "/no-such-page", status=404),
        "error-405": _fetch(client, "/logout", status=405),
        "fragment-error-alert": FRAGMENT_PAGE.format(
            _fetch(client, "/board/", status=403, headers={"HX-Request": "true"})),
        "fragment-countdown": FRAGMENT_PAGE.format(
            _fetch(client, "/countdown", headers={"HX-Request": "true"})),
        "fragment-search-results": FRAGMENT_PAGE.format(
            _fetch(client, "/activities/?q=讲堂", headers={"HX-Request": "true"})),
    })

    _log_in(client, "jinan-zj-admin")
    pages.update({
        "admin-report-editor": _fetch(client, "/reports/jinan-zj"),
        "admin-accounts": _fetch(client, "/admin/users"),
        "admin-new-account": _fetch(client, "/admin/users/new"),
        "admin-units": _fetch(client, "/admin/units"),
        "admin-move-account": _fetch(client, f"/admin/users/{_user_id('jinan-lixia-zj')}/move"),
        "admin-reviews": _fetch(client, "/reviews/"),
        "city-board": _fetch(client, "/board/"),
        "city-board-unit": _fetch(client, "/board/units/jinan-lixia-zj"),
        "city-board-chip-list": _fetch(client, "/activities/?state=submitted&under=jinan-zj"),
        "city-board-row-subtree-list": _fetch(client, "/activities/?state=submitted&subtree=jinan-zj"),
        "city-reminders": _fetch(client, "/board/reminders"),
        "city-due-date-refused": client.post("/board/due-date", data={
            "due_date": "2099-01-01", "csrf_token": csrf_token_from(_fetch(client, "/board/"))}).get_data(as_text=True),
    })
    _submit_with_scan("jinan-lixia-zj")
    pages["city-county-report-with-scan"] = _fetch(client, "/reports/jinan-lixia-zj")
    _log_in(client, "jinan-lixia-zj-admin")
    pages["county-submitted-report-with-scan"] = _fetch(client, "/reports/jinan-lixia-zj")
    _log_in(client, "province")
    pages["province-new-activity-suggestions"] = _fetch(client, "/activities/new?action=1")
    return pages


def _submit_with_scan(code: str) -> None:
    """A county's report submitted (its snapshot taken) with a stamped scan attached."""
    import io

    from sqlalchemy import select

    from qmonth.extensions import db
    from qmonth.models import Campaign, Unit, User
    from qmonth.reports.scans import attach_scan
    from qmonth.reports.services import get_or_create_report, submit_report

    admin = db.session.scalar(select(User).where(User.username == f"{code}-admin"))
    campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
    report = get_or_create_report(campaign, db.session.scalar(select(Unit).where(Unit.code == code)))
    report.problems = "下一步打算。"
    submit_report(report, by=admin)
    pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
    attach_scan(report, stream=io.BytesIO(pdf), filename="盖章件.pdf", by=admin)
    db.session.commit()


def _user_id(username: str) -> int:
    from sqlalchemy import select

    from qmonth.extensions import db
    from qmonth.models import User

    return db.session.scalar(select(User.id).where(User.username == username))


@pytest.mark.parametrize("database", ["sqlite"], scope="session")
def test_every_main_page_passes_the_nu_html_checker(client, make_activity, tmp_path):
    """Some forty pages of every role, checked in one JVM: no error at all."""
    checker = _checker()
    pages = _pages_of_every_role(client, make_activity)
    assert len(pages) >= 40
    # The page a database that cannot be reached gets (errors.py: rendered without the database).
    down = _make_app(tmp_path / "database-down", f"sqlite:///{tmp_path / 'gone' / 'qmonth.db'}").test_client()
    refused = down.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo",
                                        "csrf_token": csrf_token_from(_fetch(down, "/login"))})
    assert refused.status_code == 503
    pages["database-unavailable"] = refused.get_data(as_text=True)
    files = []
    for name, html in {**pages, "canary": CANARY_PAGE}.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(str(path))

    result = subprocess.run([*checker, "--errors-only", "--format", "json", *files],
                            capture_output=True, text=True, timeout=300)
    try:
        messages = json.loads(result.stderr or result.stdout)["messages"]
    except ValueError:
        pytest.fail(f"The Nu HTML Checker did not answer in JSON:\n{result.stderr}{result.stdout}")
    errors = [(Path(m.get("url", "")).stem, f'{m.get("lastLine", "?")}: {m["message"]}')
              for m in messages if m.get("type") in ("error", "non-document-error")]
    assert [line for page, line in errors if page == "canary"] == [
        "1: Attribute “hx-get” not allowed on element “div” at this point."]
    errors = [f"{page}:{line}" for page, line in errors if page != "canary"]
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors[:80])
