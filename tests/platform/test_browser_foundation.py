"""Real Chromium: what a bureau clerk sees on a phone."""
import re

from tests.conftest import browser_login
from tests.helpers import assert_fits_width


def test_reporter_on_a_phone_sees_theme_and_countdown(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj")
    assert page.locator(".hero-theme").inner_text() == "活动主题：提升建筑品质 共享美好生活"
    countdown = page.locator("#countdown")
    assert countdown.is_visible()
    assert re.search(r"已截止 \d+ 天 \d+ 小时|距截止还有 \d+ 天", countdown.inner_text())
    assert "2024年10月10日 23:59" in countdown.inner_text()
    assert "济南市住房和城乡建设局" in page.locator(".whoami").inner_text()
    # Nothing overflows the phone's width.
    assert_fits_width(page, 390)
    assert page.console_errors == []


def test_wrong_password_in_the_browser_keeps_the_username(live_server, page_at):
    page = page_at(390, 844)
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "jinan-zj")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误，或账号已停用。" in page.locator(".field-error").first.inner_text() or \
        "用户名或密码错误" in page.content()
    assert page.input_value("#username") == "jinan-zj"


def test_province_disables_an_account_through_htmx(live_server, page_at):
    page = page_at(1280, 800)
    browser_login(page, live_server, "province")
    page.click("text=账号管理")
    # htmx wires the row buttons when the page has loaded: a click before that does nothing
    # (under load on 4 workers it came first once, and the test waited 30 s for 已停用).
    page.wait_for_url(f"{live_server.url}/admin/users")
    page.wait_for_load_state("load")
    row = page.locator("tr", has=page.locator("td", has_text=re.compile(r"^weihai-cg$")))
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="停用").click()
    page.locator("tr", has_text="weihai-cg").locator("text=已停用").first.wait_for()
    assert page.url.endswith("/admin/users")  # swapped in place, no reload
    assert page.console_errors == []
