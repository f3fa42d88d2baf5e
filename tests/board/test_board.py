"""The deadline board: every unit's entries and report against its due time."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from qmonth.board.rows import ReportStatus, build_board
from qmonth.extensions import db
from qmonth.models import Activity, ActivityKind, ActivityState, Campaign, Task, User

from tests.helpers import campaign, set_clock, unit
from tests.board.support import DAY, due, make_reopening, make_report, without_activities


def rows_by_code(now):
    return {row.unit.code: row for row in build_board(campaign(), now=now).rows}


def unit_codes_in(html: str) -> list[str]:
    return re.findall(r'<tr id="unit-([a-z]+-[a-z]+)"', html)


def row_html(page: str, code: str) -> str:
    row = page[page.index(f'<tr id="unit-{code}"'):]
    return row[:row.index("</tr>")]


@pytest.fixture
def reports(app):
    """On time, late, draft, none, reopened, and submitted while reopened."""
    deadline = due()
    make_report("jinan-zj", submitted_at=deadline - timedelta(hours=1))
    make_report("qingdao-zj", submitted_at=deadline + 2 * DAY)
    make_report("zibo-zj")
    make_reopening("heze-sw", created_at=deadline + DAY, due_at=deadline + 5 * DAY)
    make_reopening("binzhou-sw", created_at=deadline + DAY, due_at=deadline + 5 * DAY)
    make_report("binzhou-sw", submitted_at=deadline + 2 * DAY - timedelta(hours=2))  # 21:59 on 12 October
    return deadline


def test_the_board_is_for_the_province_only(client, login_as):
    for username in ("heze-sw", "heze-sw-admin"):
        login_as(username)
        assert client.get("/board/").status_code == 403
    login_as("province")
    page = client.get("/board/").get_data(as_text=True)
    assert len(unit_codes_in(page)) == 44


def test_report_states_before_on_and_after_the_due_time(app, reports):
    deadline = reports

    before = rows_by_code(deadline - 2 * DAY)
    assert before["jinan-zj"].status is ReportStatus.ON_TIME
    assert before["zibo-zj"].status is ReportStatus.DRAFT and before["zibo-zj"].days_left == 2
    assert before["zaozhuang-zj"].status is ReportStatus.NOT_STARTED and before["zaozhuang-zj"].days_left == 2
    assert not before["zaozhuang-zj"].is_locked

    at_deadline = rows_by_code(deadline)
    assert at_deadline["zaozhuang-zj"].status is ReportStatus.NOT_STARTED
    assert at_deadline["zaozhuang-zj"].days_left == 0 and not at_deadline["zaozhuang-zj"].is_locked

    after = rows_by_code(deadline + timedelta(seconds=1))  # 00:00:00 on 11 October in Beijing
    assert after["zaozhuang-zj"].status is ReportStatus.MISSING and after["zaozhuang-zj"].days_late == 1
    assert after["zibo-zj"].status is ReportStatus.MISSING and after["zaozhuang-zj"].is_locked
    assert after["jinan-zj"].status is ReportStatus.ON_TIME and after["jinan-zj"].days_late is None
    assert after["qingdao-zj"].status is ReportStatus.LATE and after["qingdao-zj"].days_late == 2
    assert not after["qingdao-zj"].standing.reopened
    # Reopened: days left to the new due time, and open until then.
    heze = after["heze-sw"]
    assert heze.status is ReportStatus.NOT_STARTED and not heze.is_locked and heze.standing.label == "未开始（补报中）"
    assert heze.due_at == deadline + 5 * DAY and heze.days_left == 4 and heze.reopened_reason == "系统故障，补报"
    # Came in while the reopening was open: still late against the campaign's due time, marked 补报.
    binzhou = after["binzhou-sw"]
    assert binzhou.status is ReportStatus.LATE and binzhou.standing.label == "逾期报送（补报）"
    assert binzhou.days_late == 2 and binzhou.days_left is None

    later = rows_by_code(deadline + 6 * DAY)
    assert later["heze-sw"].status is ReportStatus.MISSING and later["heze-sw"].standing.label == "未报送"
    assert later["heze-sw"].days_late == 6 and later["heze-sw"].is_locked  # late counts from 10 October


def test_the_page_shows_states_days_and_reopenings(app, client, login_as, reports):
    set_clock(app, reports + 2 * DAY - timedelta(hours=1))  # 22:59 on 12 October in Beijing
    login_as("province")
    page = client.get("/board/").get_data(as_text=True)
    heze = row_html(page, "heze-sw")
    assert "未开始" in heze and "剩 3 天" in heze and "补报至 10-15 23:59" in heze
    assert "按时报送" in row_html(page, "jinan-zj") and "按时" in row_html(page, "jinan-zj")
    assert "未报送" in row_html(page, "zaozhuang-zj") and "已逾期 2 天" in row_html(page, "zaozhuang-zj")
    assert ">草稿</a>" not in row_html(page, "zibo-zj") and ">未报送</a>" in row_html(page, "zibo-zj")
    assert "逾期报送" in row_html(page, "qingdao-zj") and "逾期 2 天报送" in row_html(page, "qingdao-zj")


def test_a_report_handed_in_while_reopened_is_late_with_the_mark_everywhere(app, client, login_as, reports):
    set_clock(app, reports + 2 * DAY)  # 23:59 on 12 October; binzhou-sw handed its report in at 21:59
    login_as("province")
    binzhou = row_html(client.get("/board/").get_data(as_text=True), "binzhou-sw")
    assert ">逾期报送（补报）</a>" in binzhou and "逾期 2 天报送" in binzhou and "补报至 10-15 23:59" in binzhou
    assert ">逾期报送</a>" in row_html(client.get("/board/").get_data(as_text=True), "qingdao-zj")
    # The filter by report state puts it with the late ones, and its unit admin sees the same row.
    late = client.get("/board/?status=late").get_data(as_text=True)
    assert "binzhou-sw" in unit_codes_in(late) and row_html(late, "binzhou-sw") == binzhou
    login_as("binzhou-sw-admin")
    home = client.get("/").get_data(as_text=True)
    assert unit_codes_in(home) == ["binzhou-sw"]
    own = row_html(home, "binzhou-sw")
    assert "逾期报送（补报）" in own and "逾期 2 天报送" in own and "补报至 10-15 23:59" in own
    assert "按时报送" not in home


def test_sorting_by_days_late_and_filtering_by_city_and_state(app, client, login_as, reports):
    set_clock(app, reports + 2 * DAY)
    login_as("province")
    order = unit_codes_in(client.get("/board/?sort=-days").get_data(as_text=True))
    assert len(order) == 44
    # Missing reports (late by two days) first, then the two late ones (one of them 补报),
    # then the reopened unit with days left; the one on time last.
    assert order[0] == "jinan-cg"
    assert order[-4:] == ["qingdao-zj", "binzhou-sw", "heze-sw", "jinan-zj"]
    assert unit_codes_in(client.get("/board/?sort=unit").get_data(as_text=True))[:2] == ["jinan-zj", "jinan-cg"]

    assert unit_codes_in(client.get("/board/?city=济南").get_data(as_text=True)) == [
        "jinan-zj", "jinan-cg", "jinan-sw", "jinan-yl", "jinan-jt"]
    assert unit_codes_in(client.get("/board/?status=on_time").get_data(as_text=True)) == ["jinan-zj"]
    assert unit_codes_in(client.get("/board/?status=late").get_data(as_text=True)) == ["qingdao-zj", "binzhou-sw"]
    # Unknown values are ignored, never errors.
    assert len(unit_codes_in(client.get("/board/?sort=nope&city=巴黎&status=x").get_data(as_text=True))) == 44


def _make(code, state, *, participants=10, starts_on=date(2024, 9, 10)):
    activity = Activity(
        campaign=campaign(), unit=unit(code), author=db.session.scalar(select(User).where(User.username == code)),
        title=f"{code}{state.label}活动", state=state, starts_on=starts_on, ends_on=starts_on,
        kind=db.session.scalar(select(ActivityKind).where(ActivityKind.code == "training")),
        tasks=list(db.session.scalars(select(Task).where(Task.number == 2))), participants=participants,
        county="牡丹区", figures={})
    db.session.add(activity)
    return activity


def test_every_number_links_to_the_matching_filtered_list(app, client, login_as):
    without_activities()
    for state, count in ((ActivityState.DRAFT, 2), (ActivityState.SUBMITTED, 1), (ActivityState.ACCEPTED, 3),
                         (ActivityState.RETURNED, 1)):
        for _ in range(count):
            _make("heze-sw", state)
    _make("heze-cg", ActivityState.ACCEPTED)
    db.session.commit()

    login_as("province")
    row = row_html(client.get("/board/").get_data(as_text=True), "heze-sw")
    links = re.findall(r'<a href="(/activities/\?[^"]+)"[^>]*>(\d+)</a>', row)
    expected = {"draft": 2, "submitted": 1, "accepted": 3, "returned": 1}
    seen = {}
    for href, number in links:
        href = href.replace("&amp;", "&")
        listed = client.get(href).get_data(as_text=True)
        assert len(re.findall(r'<tr id="activity-\d+"', listed)) == int(number), href
        assert "unit=heze-sw" in href
        state = re.search(r"state=(\w+)", href)
        seen[state.group(1) if state else "total"] = int(number)
    assert {k: v for k, v in seen.items() if k in expected} == expected
    assert seen["total"] == 7


def test_htmx_gets_the_table_alone_and_it_refreshes_itself(client, login_as):
    login_as("province")
    response = client.get("/board/?sort=-total", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<div id="board-table"') and "<html" not in html
    tbody = re.search(r'<tbody id="board-rows"[^>]*>', html).group(0)
    assert 'data-hx-trigger="every 60s, board-changed from:body"' in tbody
    assert 'data-hx-get="/board/?sort=-total"' in tbody and 'data-hx-select="#board-rows"' in tbody
    # The counts above the table come back with the rows, from the same request.
    assert 'data-hx-select-oob="#board-summary"' in tbody and '<div id="board-summary" class="board-summary">' in html
    assert html.count('data-hx-trigger="every 60s') == 1
    full = client.get("/board/?sort=-total").get_data(as_text=True)
    assert "<html" in full and 'id="countdown"' in full and 'id="reminder-form"' in full


def test_the_board_is_one_query_whatever_the_number_of_entries(app, client, login_as):
    statements = []

    def count(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):  # not the BEGIN of the transaction
            statements.append(statement)

    current = campaign()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        build_board(current)
        assert len(statements) == 1
        login_as("province")
        client.get("/board/")
        statements.clear()
        assert client.get("/board/").status_code == 200
        # The signed-in user, its unit (the root: the header names it), the active campaign, the board.
        assert len(statements) <= 4
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_unit_admin_sees_the_units_own_row_on_the_home_page(client, login_as):
    login_as("heze-sw-admin")
    page = client.get("/").get_data(as_text=True)
    assert "本单位报送情况" in page and unit_codes_in(page) == ["heze-sw"]
    assert 'href="/activities/?state=draft"' in page
    login_as("heze-sw")
    assert "本单位报送情况" not in client.get("/").get_data(as_text=True)
    login_as("province")
    assert "本单位报送情况" not in client.get("/").get_data(as_text=True)


def test_each_unit_is_compared_with_the_previous_campaign(app, client, login_as):
    current = campaign()
    previous = Campaign(slug="2023-shandong", year=2023, title="2023年质量月", theme="t",
                        starts_on=date(2023, 9, 1), ends_on=date(2023, 9, 30),
                        report_due_at=current.report_due_at - timedelta(days=366), issuer="省厅",
                        issued_on=date(2023, 8, 29), is_active=False)
    db.session.add(previous)
    db.session.flush()
    old = _make("heze-sw", ActivityState.ACCEPTED, participants=75)
    old.campaign = previous
    _make("heze-sw", ActivityState.DRAFT).campaign = previous  # drafts are not counted
    db.session.commit()

    rows = rows_by_code(None)
    assert rows["heze-sw"].previous_counted == 1 and rows["heze-sw"].previous_participants == 75
    assert rows["jinan-zj"].previous_counted == 0
    login_as("province")
    page = client.get("/board/").get_data(as_text=True)
    assert "报送活动 本届/2023" in page and "参与人次 本届/2023" in page


def test_without_a_previous_campaign_there_is_no_comparison(client, login_as):
    login_as("province")
    assert "本届/" not in client.get("/board/").get_data(as_text=True)
    assert build_board(campaign()).previous_year is None
