"""Real Chromium: the bureau writes its report, loses the network, reloads, and downloads the PDF."""
from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import Campaign, UnitReport
from qmonth.timeutil import utcnow

from tests.conftest import browser_login
from tests.helpers import assert_fits_width

SCREENSHOTS = os.environ.get("QMONTH_SCREENSHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture
def server(live_server):
    """The live app with the report deadline a week ahead (after it, bureaus can no longer write)."""
    with live_server.app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
        campaign.report_due_at = utcnow() + timedelta(days=7)
        db.session.commit()
    return live_server


def stored_problems(server) -> str:
    with server.app.app_context():
        report = db.session.scalar(select(UnitReport).where(UnitReport.unit.has(code="jinan-zj")))
        return report.problems if report else ""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_typed_text_is_saved_survives_a_reload_and_the_pdf_downloads(server, page_at, width, height):
    page = page_at(width, height)
    browser_login(page, server, "jinan-zj-admin")
    page.goto(f"{server.url}/reports/jinan-zj")
    page.fill("#sec-problems", f"部分县区检测机构能力不足（{width}）。")
    page.wait_for_selector("#status-problems.save-ok", timeout=10_000)
    assert re.fullmatch(r"已保存 \d\d:\d\d", page.inner_text("#status-problems").strip())
    assert stored_problems(server) == f"部分县区检测机构能力不足（{width}）。"
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/report-editor-{width}.png", full_page=True)

    page.reload()
    assert page.input_value("#sec-problems") == f"部分县区检测机构能力不足（{width}）。"
    assert_fits_width(page, width)

    with page.expect_download() as download_info:
        page.click("#pdf-link")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    response = page.request.get(f"{server.url}/reports/jinan-zj.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert page.console_errors == []


def test_text_typed_while_the_network_is_down_is_kept_and_sent_later(server, page_at):
    page = page_at(1280, 900, service_workers="block")
    browser_login(page, server, "jinan-zj-admin")
    page.goto(f"{server.url}/reports/jinan-zj")
    page.route("**/reports/jinan-zj/sections/**", lambda route: route.abort("internetdisconnected"))
    page.fill("#sec-problems", "断网时写下的文字。")
    page.wait_for_selector("#status-problems.save-pending", timeout=10_000)
    assert "网络中断" in page.inner_text("#status-problems")
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':problems'))"
                           ".map(k => JSON.parse(localStorage.getItem(k)).value)")
    assert stored == ["断网时写下的文字。"]
    assert stored_problems(server) == ""

    page.unroute("**/reports/jinan-zj/sections/**")
    page.wait_for_selector("#status-problems.save-ok", timeout=15_000)  # re-sent by the retry timer
    assert stored_problems(server) == "断网时写下的文字。"
    assert page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':problems')).length") == 0
    page.console_errors.clear()  # the aborted requests logged network errors on purpose


def test_unsent_text_comes_back_after_a_reload(server, page_at):
    page = page_at(390, 844, service_workers="block")
    browser_login(page, server, "jinan-zj-admin")
    page.goto(f"{server.url}/reports/jinan-zj")
    page.route("**/reports/jinan-zj/sections/**", lambda route: route.abort("internetdisconnected"))
    page.fill("#sec-practices", "还没来得及保存的做法。")
    page.wait_for_selector("#status-practices.save-pending", timeout=10_000)
    page.unroute("**/reports/jinan-zj/sections/**")
    page.reload()
    # restored from localStorage and saved, since the report had not changed on the server meanwhile
    assert page.input_value("#sec-practices") == "还没来得及保存的做法。"
    page.wait_for_selector("#status-practices.save-ok", timeout=10_000)
    with server.app.app_context():
        report = db.session.scalar(select(UnitReport).where(UnitReport.unit.has(code="jinan-zj")))
        assert report.practices == "还没来得及保存的做法。"


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_the_root_admin_types_the_doc_number_and_signer(server, page_at, width, height):
    """The root's report page: 发文字号 and 签发人 autosave; a bad 发文字号 is refused and stays typed."""
    page = page_at(width, height)
    browser_login(page, server, "province")
    page.goto(f"{server.url}/reports/shandong-zjt")
    assert "住房和城乡建设部办公厅" in page.inner_text("#upward-fields")
    page.fill("#sec-doc_number", "鲁建质安函2024第12号")
    page.wait_for_selector("#status-doc_number.save-error", timeout=10_000)
    assert "发文字号应为" in page.inner_text("#status-doc_number")
    assert page.input_value("#sec-doc_number") == "鲁建质安函2024第12号"
    page.fill("#sec-doc_number", "鲁建质安函〔2024〕12号")
    page.wait_for_selector("#status-doc_number.save-ok", timeout=10_000)
    page.fill("#sec-signer", "王𪚥")
    page.wait_for_selector("#status-signer.save-ok", timeout=10_000)
    assert_fits_width(page, width)
    if SCREENSHOTS:
        page.locator("#upward-fields").scroll_into_view_if_needed()
        page.screenshot(path=f"{SCREENSHOTS}/report-root-{width}.png", full_page=width > 400)
    with server.app.app_context():
        report = db.session.scalar(select(UnitReport).where(UnitReport.unit.has(code="shandong-zjt")))
        assert (report.doc_number, report.signer) == ("鲁建质安函〔2024〕12号", "王𪚥")
    if SCREENSHOTS:
        response = page.request.get(f"{server.url}/reports/shandong-zjt.pdf")
        with open(f"{SCREENSHOTS}/report-root.pdf", "wb") as handle:
            handle.write(response.body())
    # the refused 发文字号 is the one request answered with an error (422): nothing else failed
    assert [e for e in page.console_errors if "422" not in e] == [] and len(page.console_errors) <= 1
