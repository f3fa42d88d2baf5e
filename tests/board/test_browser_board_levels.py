"""Real Chromium, a city's board: 济南's admin follows its twelve counties, sets their due date
(a date after its own refused, the typed date kept), sends 催报 and reopens a county (补报) past
the date it set; the province drills from 济南 to its counties; the board works on a phone."""
import re
from datetime import datetime
from pathlib import Path

from playwright.sync_api import expect

from qmonth.deadlines import is_locked
from tests.conftest import browser_login
from tests.helpers import assert_fits_width, campaign, set_clock, unit

SHOTS = Path(__file__).resolve().parents[2] / "instance"
MESSAGE = "请于10月6日前报送本区县“质量月”活动总结报告。"


def test_a_city_follows_its_counties_in_the_browser(live_server, page_at):
    page = page_at(1280, 900)
    browser_login(page, live_server, "jinan-zj-admin")
    page.goto(f"{live_server.url}/board/")
    expect(page.locator("#board-rows tr")).to_have_count(12)
    expect(page.locator("#unit-jinan-lixia-zj .cell-unit")).to_contain_text("历下区住房城乡建设局")
    expect(page.locator("#unit-jinan-lixia-zj .cell-days")).to_contain_text("10-08 18:00 截止")  # the demo's

    # A date after 济南's own is refused in Chinese, and what was typed stays.
    page.fill("#due-date-day", "2024-10-12")
    page.fill("#due-date-time", "09:00")
    page.click("#due-form button[type=submit]")
    expect(page.locator("#err-due-date-day")).to_have_text(
        "下级单位的截止时间不能晚于济南市住房和城乡建设局的截止时间（2024-10-10 23:59）。")
    expect(page.locator("#due-date-day")).to_have_value("2024-10-12")
    expect(page.locator("#due-date-time")).to_have_value("09:00")
    page.fill("#due-date-day", "2024-10-06")
    page.fill("#due-date-time", "17:00")
    page.click("#due-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("12 个单位的总结报告截止时间设为 2024-10-06 17:00")
    expect(page.locator("#board-rows .cell-days", has_text="10-06 17:00 截止")).to_have_count(12)

    # 催报 to one county, in place (htmx): the row shows it.
    page.check("input[name=units][value=jinan-zhangqiu-zj]")
    page.fill("#message", MESSAGE)
    page.click("#reminder-form button[type=submit]")
    expect(page.locator(".reminder-sent")).to_have_text("已向 1 个单位发送催报。")
    expect(page.locator("#unit-jinan-zhangqiu-zj .cell-reminded")).not_to_contain_text("未催报")
    expect(page.locator("#unit-jinan-lixia-zj .cell-reminded")).to_contain_text("未催报")

    # Past the date it set, 济南 reopens 历下 from its board: the county's page, the form, back.
    set_clock(live_server.app, datetime.fromisoformat("2024-10-07T09:00:00+08:00"))
    browser_login(page, live_server, "jinan-zj-admin")  # a session ends after 12 hours
    page.goto(f"{live_server.url}/board/")
    expect(page.locator("#unit-jinan-lixia-zj .cell-report")).to_contain_text("未报送")
    page.click("#unit-jinan-lixia-zj .cell-unit a[title='查看详情、开放补报']")
    page.wait_for_url(re.compile(r"/board/units/jinan-lixia-zj$"))
    page.fill("#due_date", "2024-10-09")
    page.fill("#due_time", "18:00")
    page.fill("#reason", "区县总结报告数据需核实，同意补报。")
    page.click(".reopen-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("已为历下区住房城乡建设局开放补报，截止时间 2024-10-09 18:00")
    page.click("main a:has-text('总览看板')")
    expect(page.locator("#unit-jinan-lixia-zj .badge-reopened")).to_have_text("补报至 10-09 18:00")
    # Taken last: a screenshot leaves empty style attributes that htmx's settling then copies.
    page.screenshot(path=str(SHOTS / "board-city-desktop.png"), full_page=True)
    with live_server.app.app_context():
        assert not is_locked(unit("jinan-lixia-zj"), campaign())
        assert is_locked(unit("jinan-shanghe-zj"), campaign())
    assert [error for error in page.console_errors if "422" not in error] == [], page.console_errors


def test_the_province_drills_down_to_jinans_counties(live_server, page_at):
    page = page_at(1280, 900)
    browser_login(page, live_server, "province")
    page.goto(f"{live_server.url}/board/")
    page.click("#unit-jinan-zj a.drill")
    page.wait_for_url(re.compile(r"/board/\?under=jinan-zj$"))
    expect(page.locator("#board-rows tr")).to_have_count(12)
    expect(page.locator(".board-trail [aria-current=page]")).to_have_text("济南市住房和城乡建设局")
    # The chips open the counties' entries, with the same number.
    chip = page.locator(".chips-states a.chip", has_text="已报送活动")
    shown = int(chip.locator("strong").inner_text())
    chip.click()
    page.wait_for_url(re.compile(r"/activities/\?state=submitted&under=jinan-zj$"))
    expect(page.locator("#results-summary")).to_contain_text(f"共 {shown} 条" if shown == 0 else str(shown))
    assert [error for error in page.console_errors if "422" not in error] == [], page.console_errors


def test_a_citys_board_on_a_phone(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj-admin")
    page.goto(f"{live_server.url}/board/")
    expect(page.locator("#board-rows tr")).to_have_count(12)
    assert_fits_width(page, 390)
    page.screenshot(path=str(SHOTS / "board-city-phone.png"), full_page=True)
    # Every control and link a thumb uses is at least 44 px high and wide enough to hit.
    small = page.evaluate("""() => [...document.querySelectorAll(
        'main a, main button, main select, main input:not([type=hidden]), main textarea, main label.check')]
        .filter(el => el.offsetParent !== null && !el.closest('.sr-only'))
        .filter(el => !(el.tagName === 'INPUT' && el.closest('label')))  /* its label is the target */
        .map(el => [el.tagName + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || el.name || '').trim().slice(0, 20),
                    el.getBoundingClientRect()])
        .filter(([, r]) => r.height < 44 || r.width < 44)
        .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`)""")
    assert small == [], small
    # The due date and 催报 forms work there too.
    page.fill("#due-date-day", "2024-10-12")
    page.click("#due-form button[type=submit]")
    expect(page.locator("#err-due-date-day")).to_contain_text("不能晚于")
    assert_fits_width(page, 390)
    assert [error for error in page.console_errors if "422" not in error] == [], page.console_errors
