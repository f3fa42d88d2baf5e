"""Real Chromium: searching the activity list on an office screen and on a phone."""
import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from qmonth.models import ActivityState

from tests.conftest import browser_login
from tests.helpers import assert_fits_width, build_activity, clear_activities


@pytest.fixture
def listed_server(live_server):
    """The live server with a known set of activities (and nothing else)."""
    with live_server.app.app_context():
        clear_activities()
        build_activity("jinan-zj", "钢筋工程质量培训班", description="面向施工企业质量员")
        build_activity("jinan-zj", "住宅工程质量开放日", kind="testing", state=ActivityState.SUBMITTED)
        build_activity("jinan-zj", "隔音降噪现场观摩", kind="site_tour", state=ActivityState.RETURNED,
                      return_reason="请补充现场照片。")
        build_activity("qingdao-zj", "青岛质量培训", description="别的单位")
    return live_server


def row_titles(page) -> list[str]:
    return page.locator("#results tbody tr .cell-title a").all_inner_texts()


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_search_narrows_the_list_keeps_the_url_and_survives_reload_and_back(listed_server, page_at,
                                                                            width, height):
    page = page_at(width, height)
    browser_login(page, listed_server, "jinan-zj")
    page.goto(f"{listed_server.url}/activities/")
    assert sorted(row_titles(page)) == sorted(["钢筋工程质量培训班", "住宅工程质量开放日", "隔音降噪现场观摩"])
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    page.locator("#filter-q").press_sequentially("培训", delay=40)
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert row_titles(page) == ["钢筋工程质量培训班"]
    page.wait_for_url(re.compile(r"q="))
    assert "q=培训" in unquote(page.url)
    assert page.evaluate("window.__sameDocument === true")  # swapped in place, no reload

    page.reload()
    assert row_titles(page) == ["钢筋工程质量培训班"]
    assert page.input_value("#filter-q") == "培训"

    page.go_back()
    expect(page.locator("#results tbody tr")).to_have_count(3)
    assert "q=" not in page.url
    assert len(row_titles(page)) == 3

    # Nothing sticks out sideways, and on a phone each row reads as a card.
    assert_fits_width(page, width)
    if width < 760:
        assert not page.locator(".activity-table thead").is_visible()
        assert page.locator(".activity-table tbody tr").first.evaluate(
            "row => getComputedStyle(row).display") == "block"
        # The filters fold away on a phone until 筛选 is tapped.
        assert not page.locator("select[name=kind]").is_visible()
        page.click("label[for=more-filters]")
        assert page.locator("select[name=kind]").is_visible()
    else:
        assert page.locator("select[name=kind]").is_visible()
    assert page.console_errors == []


def test_clicking_a_state_count_filters_and_other_filters_keep_it(listed_server, page_at):
    page = page_at(1280, 800)
    browser_login(page, listed_server, "jinan-zj")
    page.goto(f"{listed_server.url}/activities/")
    page.click(".state-tab[data-state=returned]")
    page.wait_for_url(re.compile(r"state=returned"))
    assert row_titles(page) == ["隔音降噪现场观摩"]
    assert "退回原因：请补充现场照片。" in page.locator("#results").inner_text()

    page.select_option("select[name=sort]", "title")
    page.wait_for_url(re.compile(r"sort=title"))
    assert "state=returned" in page.url  # the chosen state travels with the other filters
    assert row_titles(page) == ["隔音降噪现场观摩"]

    page.select_option("select[name=kind]", "testing")
    page.wait_for_url(re.compile(r"kind=testing"))
    assert row_titles(page) == []
    assert "没有符合条件的活动。" in page.locator("#results").inner_text()
    assert page.console_errors == []
