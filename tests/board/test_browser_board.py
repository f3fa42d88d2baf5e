"""Real Chromium: the province sorts the board and reminds a bureau, which sees it in qmonth."""
import re

from playwright.sync_api import expect

from tests.board.support import due, make_report
from tests.conftest import browser_login
from tests.helpers import assert_fits_width

MESSAGE = "请于10月10日前报送本单位“质量月”活动总结报告。"


def test_the_province_reminds_a_bureau_and_the_bureau_reads_it(live_server, page_at):
    with live_server.app.app_context():
        make_report("jinan-zj", submitted_at=due())  # on time: sorts last by days late
    page = page_at(1280, 900)
    browser_login(page, live_server, "province")
    page.goto(f"{live_server.url}/board/")
    expect(page.locator("#board-rows tr")).to_have_count(44)
    page.evaluate("window.__sameDocument = true")

    page.locator("th a.sort-link", has_text="截止").click()
    page.wait_for_url(re.compile(r"sort=-days"))
    expect(page.locator("th[aria-sort=descending]")).to_have_text("截止▼")
    expect(page.locator("#board-rows tr").last).to_have_id("unit-jinan-zj")
    assert page.evaluate("window.__sameDocument === true")

    # The rows refresh themselves without losing what the user ticked; the counts above
    # the table come back in the same response (hx-select-oob).
    page.check("input[name=units][value=qingdao-zj]")
    page.evaluate("document.getElementById('board-summary').dataset.before = 'refresh'")
    with page.expect_response(re.compile(r"/board/\?sort=-days")):
        page.evaluate("document.body.dispatchEvent(new Event('board-changed'))")
    expect(page.locator("input[name=units][value=qingdao-zj]")).to_be_checked()
    expect(page.locator("#board-summary")).not_to_have_attribute("data-before", "refresh")
    page.uncheck("input[name=units][value=qingdao-zj]")

    page.check("input[name=units][value=heze-sw]")
    page.fill("#message", MESSAGE)
    page.click("#reminder-form button[type=submit]")
    expect(page.locator(".reminder-sent")).to_have_text("已向 1 个单位发送催报。")
    expect(page.locator("#unit-heze-sw .cell-reminded")).not_to_contain_text("未催报")
    expect(page.locator("#unit-qingdao-zj .cell-reminded")).to_contain_text("未催报")
    expect(page.locator("input[name=units][value=heze-sw]")).not_to_be_checked()
    assert page.evaluate("window.__sameDocument === true")
    page.click("nav.mainnav button:has-text('退出')")
    page.wait_for_url(re.compile(r"/login"))

    browser_login(page, live_server, "heze-sw")
    badge = page.locator("#reminder-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    page.click("nav.mainnav a:has-text('催报通知')")
    expect(page.locator(".reminder-item.is-unread .reminder-message")).to_have_text(MESSAGE)
    page.click(".reminder-item button:has-text('标为已读')")
    expect(page.locator(".reminder-item.is-unread")).to_have_count(0)
    expect(badge).to_be_hidden()
    page.reload()
    expect(page.locator("#reminder-badge")).to_be_hidden()
    assert page.console_errors == []


def test_the_board_reads_on_a_phone(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "province")
    page.goto(f"{live_server.url}/board/")
    assert_fits_width(page, 390)
    assert not page.locator(".board-table thead").is_visible()
    card = page.locator("#unit-heze-sw")
    expect(card).to_contain_text("菏泽市水务局")
    assert card.bounding_box()["height"] < 260
