"""Real Chromium with the Content-Security-Policy: the pages of every role work and the
console reports no violation (an inline script or style attribute would be refused)."""
from __future__ import annotations

import pytest

from tests.conftest import browser_login
from tests.platform.test_headers import assert_strict_policy

PAGES = {
    "jinan-zj": ["/", "/activities/", "/activities/new", "/activities/quick", "/board/reminders", "/campaign",
                 "/reports/jinan-zj", "/account/password"],
    "jinan-zj-admin": ["/", "/admin/users", "/admin/users/new", "/reports/jinan-zj", "/reports/jinan-zj/preview"],
    "province": ["/", "/activities/", "/reviews/", "/board/", "/board/stats", "/board/highlights",
                 "/board/reminders", "/board/campaigns", "/board/units/heze-sw", "/admin/users", "/admin/audit",
                 "/reports/", "/reports/province/preview", "/reports/bulletins/"],
}


@pytest.mark.parametrize("username", sorted(PAGES))
def test_pages_raise_no_csp_violation(live_server, page_at, username):
    page = page_at(1280, 800)
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    missing = []
    page.on("response", lambda response: response.status >= 400 and missing.append(response.url))
    browser_login(page, live_server, username)
    for path in PAGES[username]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert_strict_policy(response.headers["content-security-policy"], path)
        page.wait_for_load_state("networkidle")
    assert violations == []
    assert missing == []
    assert page.console_errors == []
