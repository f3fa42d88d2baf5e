"""Real Chromium: a clerk registers an activity; the province returns it; the clerk sees why."""
import re

import pytest
from sqlalchemy import select

from qmonth.models import Activity, ActivityState

from tests.conftest import browser_login
from tests.helpers import assert_fits_width


def fill_common(page, title):
    page.fill("#title", title)
    page.select_option("#kind", "training")
    page.locator("#fig_trainees").wait_for()
    page.check("input[name=tasks][value='2']")
    page.fill("#starts_on", "2024-09-12")
    page.fill("#ends_on", "2024-09-12")
    page.fill("#county", "历下区")
    page.fill("#participants", "180")
    page.fill("#address", "经十路 9999 号")
    page.fill("#description", "邀请专家解读见证检测标准。")
    page.fill("#contact_phone", "0531-51760000")
    page.fill("#fig_trainees", "180")
    page.select_option("#fig_mode", "线下")


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_register_an_activity_end_to_end(live_server, page_at, width, height):
    page = page_at(width, height)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    fill_common(page, f"济南市质量安全讲堂（{width}）")
    page.check("#no_fee_declared")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/activities/\d+$"))
    assert "活动已报送，等待省厅审核。" in page.inner_text("#alerts")
    assert page.inner_text("#activity-state").strip().startswith("已报送")
    assert "180 人次" in page.content()
    assert_fits_width(page, width)
    assert page.console_errors == []
    with live_server.app.app_context():
        from qmonth.extensions import db

        activity = db.session.scalar(select(Activity).where(Activity.title == f"济南市质量安全讲堂（{width}）"))
        assert activity.state is ActivityState.SUBMITTED and activity.figures["trainees"] == 180


def test_swapping_kinds_keeps_what_was_typed(live_server, page_at):
    page = page_at(390, 844)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    page.fill("#title", "青年质量讲堂")
    page.fill("#description", "已经写好的活动内容。")
    page.select_option("#kind", "publicity")
    page.locator("input[name=fig_slogans]").first.wait_for()
    assert page.locator("input[name=fig_slogans]").count() == 12
    page.fill("#fig_reach", "5000")
    page.select_option("#kind", "inspection")
    page.locator("#fig_projects_inspected").wait_for()
    assert page.locator("input[name=fig_slogans]").count() == 0
    page.select_option("#kind", "publicity")
    page.locator("#fig_reach").wait_for()
    assert page.input_value("#title") == "青年质量讲堂"
    assert page.input_value("#description") == "已经写好的活动内容。"
    assert page.url.endswith("/activities/new")  # swapped in place
    assert page.console_errors == []


def test_leaving_a_date_outside_the_window_shows_the_error(live_server, page_at):
    page = page_at(1280, 900)
    browser_login(page, live_server, "jinan-zj")
    page.goto(f"{live_server.url}/activities/new")
    page.fill("#starts_on", "2024-10-03")
    page.click("#county")
    page.locator("#err-starts_on", has_text="须在活动期间内").wait_for()


def test_province_returns_an_entry_and_the_bureau_sees_the_reason(live_server, page_at):
    bureau = page_at(1280, 900)
    browser_login(bureau, live_server, "heze-sw")
    bureau.goto(f"{live_server.url}/activities/new")
    fill_common(bureau, "菏泽市水利工程质量培训")
    bureau.check("#no_fee_declared")
    bureau.click("button[value=submit]")
    bureau.wait_for_url(re.compile(r"/activities/\d+$"))
    detail_url = bureau.url

    province = page_at(1280, 900)
    browser_login(province, live_server, "province")
    province.goto(f"{live_server.url}/reviews/")
    row = province.locator("tr", has_text="菏泽市水利工程质量培训")
    row.locator("summary", has_text="退回").click()
    row.locator("textarea").fill("请补充培训签到表和课时安排。")
    row.locator("button", has_text="确认退回").click()
    province.locator("tr", has_text="菏泽市水利工程质量培训").locator(".badge", has_text="已退回").wait_for()
    assert province.console_errors == []

    bureau.goto(detail_url)
    assert "请补充培训签到表和课时安排。" in bureau.inner_text("#return-reason")
    assert bureau.inner_text("#activity-state").strip().startswith("已退回")
