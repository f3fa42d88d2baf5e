"""The board at every level: a city bureau follows its counties as the province follows its cities
(their figures and reports, their due date, 催报 and 补报); the province drills down to them."""
import re

from sqlalchemy import select

from qmonth.deadlines import LOCKED_MESSAGE, effective_due_at, is_locked
from qmonth.extensions import db
from qmonth.models import ActivityState, AuditEvent, Reminder, UnitDueDate, UnitReopening

from tests.activities.test_activity_form import valid_fields
from tests.helpers import build_activity, campaign, clear_activities, csrf_token_from, set_clock, token, unit
from tests.board.support import DAY, due, make_report

JINAN_COUNTIES = ["jinan-lixia-zj", "jinan-shizhong-zj", "jinan-huaiyin-zj", "jinan-tianqiao-zj",
                  "jinan-licheng-zj", "jinan-changqing-zj", "jinan-zhangqiu-zj", "jinan-jiyang-zj",
                  "jinan-laiwu-zj", "jinan-gangcheng-zj", "jinan-pingyin-zj", "jinan-shanghe-zj"]
MESSAGE = "请于10月8日前报送本区县“质量月”活动总结报告。"


def row_codes(html: str) -> list[str]:
    return re.findall(r'<tr id="unit-([a-z0-9-]+)"', html)


def row_html(page: str, code: str) -> str:
    row = page[page.index(f'<tr id="unit-{code}"'):]
    return row[:row.index("</tr>")]


# 1. The board of each level, and the drill-down ------------------------------------------------

def test_a_city_admin_sees_its_counties_on_its_own_board(client, login_as):
    clear_activities()
    build_activity("jinan-lixia-zj", "历下区建筑工地质量观摩", state=ActivityState.SUBMITTED, participants=40)
    build_activity("jinan-lixia-zj", "历下区质量讲堂", state=ActivityState.ACCEPTED, participants=60)
    login_as("jinan-zj-admin")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/board/"' in home.split("<main")[0]  # the navigation offers the board
    page = client.get("/board/").get_data(as_text=True)
    assert sorted(row_codes(page)) == sorted(JINAN_COUNTIES)
    assert "qingdao-zj" not in page and "济南市住房和城乡建设局的下级单位" in page
    lixia = row_html(page, "jinan-lixia-zj")
    assert ">1</a>" in lixia and ">2</a>" in lixia  # one submitted, one accepted, two in all
    for header in ("总结报告", "截止", "最近催报", "合计"):
        assert header in page
    assert "统计图表" not in page and "催报记录" in page  # a city's tabs: its progress and its reminders


def test_the_board_is_for_admins_of_a_unit_with_units_below(client, login_as):
    for username in ("jinan-zj", "jinan-lixia-zj-admin", "jinan-lixia-zj", "qingdao-zj-admin"):
        login_as(username)
        assert client.get("/board/").status_code == 403, username
        assert client.get("/board/?under=jinan-zj").status_code == 403, username


def test_the_province_drills_down_from_a_city_to_its_counties(client, login_as):
    login_as("province")
    board = client.get("/board/").get_data(as_text=True)
    assert 'href="/board/?under=jinan-zj"' in row_html(board, "jinan-zj")
    assert "?under=" not in row_html(board, "qingdao-zj")  # no units below it
    page = client.get("/board/?under=jinan-zj").get_data(as_text=True)
    assert sorted(row_codes(page)) == sorted(JINAN_COUNTIES)
    assert 'aria-current="page">济南市住房和城乡建设局' in page  # the breadcrumb ends at the city
    # Sorting and filtering stay on the city's counties: the links carry the unit code.
    fragment = client.get("/board/?under=jinan-zj&sort=-total", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and sorted(row_codes(html)) == sorted(JINAN_COUNTIES)
    assert "under=jinan-zj" in html.split("<tbody")[0]


def test_drilling_down_outside_ones_subtree_is_a_404(client, login_as):
    login_as("jinan-zj-admin")
    for code in ("qingdao-zj", "shandong-zjt", "no-such-unit"):
        assert client.get(f"/board/?under={code}").status_code == 404, code
    assert client.get("/board/?under=jinan-lixia-zj").status_code == 200  # its own county: no units below
    login_as("province")
    assert client.get("/board/?under=no-such-unit").status_code == 404


# 2. The counties' due date, set by the city ------------------------------------------------------

def set_due(client, day: str, when: str = "18:00", under: str | None = None):
    path = f"/board/?under={under}" if under else "/board/"
    data = {"csrf_token": token(client, path), "due_date": day, "due_time": when}
    if under:
        data["under"] = under
    return client.post("/board/due-date", data=data)


def test_a_city_sets_its_counties_due_date_before_its_own(app, client, login_as):
    set_clock(app, due() - 10 * DAY)
    login_as("jinan-zj-admin")
    response = set_due(client, "2024-10-08")
    assert response.status_code == 302
    rows = db.session.scalars(select(UnitDueDate)).all()
    assert sorted(row.unit.code for row in rows) == sorted(JINAN_COUNTIES)
    assert {row.due_at.isoformat() for row in rows} == {"2024-10-08T10:00:00+00:00"}  # 18:00 in Beijing
    assert effective_due_at(unit("jinan-lixia-zj"), campaign()).isoformat() == "2024-10-08T10:00:00+00:00"
    assert effective_due_at(unit("jinan-zj"), campaign()) == due()  # the city's own is unchanged
    assert effective_due_at(unit("qingdao-zj"), campaign()) == due()
    page = client.get("/board/").get_data(as_text=True)
    assert "10-08 18:00 截止" in row_html(page, "jinan-lixia-zj")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.due_date",
                                                       AuditEvent.unit_id == unit("jinan-lixia-zj").id))
    assert event.changes["due_at"] == [None, "2024-10-08 18:00"]
    login_as("jinan-lixia-zj")  # the county's countdown runs to its own due time
    label = re.search(r'<p class="countdown-label">([^<]*)</p>', client.get("/").get_data(as_text=True)).group(1)
    assert "10月8日" in label and "18:00" in label, label


def test_the_home_page_says_by_when_and_to_whom_each_level_reports(client, login_as):
    """A county bureau reports to its city bureau by the date the city set (the demo's 10-08 18:00);
    the city bureau, one of the notice's addressees, to the campaign's addressee by the campaign's."""
    expected = {"jinan-lixia-zj": "总结报告请于 2024年10月8日前报送至济南市住房和城乡建设局。",
                "jinan-lixia-zj-admin": "总结报告请于 2024年10月8日前报送至济南市住房和城乡建设局。",
                "jinan-zj": f"总结报告请于 2024年10月10日前报送至{campaign().report_addressee}。",
                "qingdao-zj": f"总结报告请于 2024年10月10日前报送至{campaign().report_addressee}。"}
    for username, sentence in expected.items():
        login_as(username)
        assert sentence in client.get("/").get_data(as_text=True), username


def test_a_due_date_after_the_citys_own_is_refused_in_chinese(app, client, login_as):
    set_clock(app, due() - 10 * DAY)
    login_as("jinan-zj-admin")
    before = {(row.unit_id, row.due_at) for row in db.session.scalars(select(UnitDueDate))}  # the demo's
    response = set_due(client, "2024-10-12")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "下级单位的截止时间不能晚于济南市住房和城乡建设局的截止时间（2024-10-10 23:59）。" in page
    assert 'value="2024-10-12"' in page  # what the user typed is kept
    db.session.expire_all()
    assert {(row.unit_id, row.due_at) for row in db.session.scalars(select(UnitDueDate))} == before
    # The province brings 济南 forward: its counties may no longer be given the campaign's date.
    login_as("province")
    assert set_due(client, "2024-10-06", "12:00").status_code == 302
    assert effective_due_at(unit("jinan-zj"), campaign()).isoformat() == "2024-10-06T04:00:00+00:00"
    login_as("jinan-zj-admin")
    response = set_due(client, "2024-10-07")
    assert response.status_code == 422
    assert "（2024-10-06 12:00）" in response.get_data(as_text=True)
    # Counties inherit the earliest due time set above them.
    assert effective_due_at(unit("jinan-lixia-zj"), campaign()).isoformat() == "2024-10-06T04:00:00+00:00"
    for bad, message in (("2024-09-01", "截止时间应晚于当前时间。"), ("明天", "日期"), ("", "请选择截止日期。")):
        response = set_due(client, bad)
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad


def test_a_county_is_locked_at_the_due_date_its_city_set(app, client, login_as):
    set_clock(app, due() - 10 * DAY)
    login_as("jinan-zj-admin")
    assert set_due(client, "2024-10-05").status_code == 302
    make_report("jinan-lixia-zj", submitted_at=due() - 3 * DAY)  # 10-07: after the county's due date
    set_clock(app, due() - 4 * DAY)  # 10-06: the county's due date has passed, the city's not
    assert is_locked(unit("jinan-lixia-zj").id, campaign()) and not is_locked(unit("jinan-zj").id, campaign())
    login_as("jinan-shizhong-zj")
    response = client.post("/activities/new", data={"csrf_token": token(client, "/activities/"),
                                                    **valid_fields(title="截止后登记")})
    assert response.status_code == 403 and LOCKED_MESSAGE in response.get_data(as_text=True)
    login_as("jinan-zj-admin")
    page = client.get("/board/").get_data(as_text=True)
    assert "逾期报送" in row_html(page, "jinan-lixia-zj")  # late against the county's own due date
    assert "未报送" in row_html(page, "jinan-shizhong-zj")


# 3. 催报 from a city to its counties --------------------------------------------------------------

def remind(client, units, under: str | None = None, target: str = "selected"):
    path = f"/board/?under={under}" if under else "/board/"
    data = {"csrf_token": token(client, path), "target": target, "units": units, "message": MESSAGE}
    if under:
        data["under"] = under
    return client.post("/board/reminders", data=data)


def test_a_city_sends_a_reminder_its_county_reads(client, login_as):
    login_as("jinan-zj-admin")
    assert remind(client, ["jinan-lixia-zj", "jinan-shizhong-zj"]).status_code == 302
    reminder = db.session.scalar(select(Reminder))
    assert sorted(r.unit.code for r in reminder.recipients) == ["jinan-lixia-zj", "jinan-shizhong-zj"]
    sent = client.get("/board/reminders").get_data(as_text=True)
    assert "本单位发出的催报" in sent and MESSAGE in sent and "历下区住房城乡建设局" in sent
    for username in ("jinan-lixia-zj", "jinan-lixia-zj-admin"):
        login_as(username)
        assert MESSAGE in client.get("/board/reminders").get_data(as_text=True), username
    for username in ("jinan-huaiyin-zj", "qingdao-zj-admin", "jinan-zj"):
        login_as(username)
        assert MESSAGE not in client.get("/board/reminders").get_data(as_text=True), username


def test_a_city_reminds_every_county_without_a_report(client, login_as):
    make_report("jinan-lixia-zj", submitted_at=due() - DAY)
    login_as("jinan-zj-admin")
    assert remind(client, [], target="missing").status_code == 302
    reminder = db.session.scalar(select(Reminder))
    assert sorted(r.unit.code for r in reminder.recipients) == sorted(set(JINAN_COUNTIES) - {"jinan-lixia-zj"})


def test_no_one_sends_a_reminder_sideways_or_upwards(client, login_as):
    login_as("jinan-zj-admin")
    response = remind(client, ["qingdao-zj", "jinan-zj", "shandong-zjt"])
    assert response.status_code == 422 and "请至少选择一个单位" in response.get_data(as_text=True)
    assert remind(client, ["jinan-lixia-zj"], under="qingdao-zj").status_code == 404
    login_as("jinan-lixia-zj-admin")
    data = {"csrf_token": token(client), "target": "selected", "units": ["jinan-shizhong-zj"], "message": MESSAGE}
    assert client.post("/board/reminders", data=data).status_code == 403
    assert db.session.scalar(select(Reminder)) is None


# 4. 补报 at every level --------------------------------------------------------------------------

def test_a_city_reopens_a_county_after_its_due_date(app, client, login_as):
    set_clock(app, due() - 10 * DAY)
    login_as("jinan-zj-admin")
    assert set_due(client, "2024-10-05").status_code == 302
    set_clock(app, due() - 4 * DAY)
    assert is_locked(unit("jinan-lixia-zj").id, campaign())
    login_as("jinan-zj-admin")  # six days on: a fresh session
    page = client.get("/board/units/jinan-lixia-zj").get_data(as_text=True)
    assert "开放补报" in page
    data = {"csrf_token": csrf_token_from(page), "due_date": "2024-10-05", "due_time": "20:00",
            "reason": "区县系统故障，未能按时报送。"}
    refused = client.post("/board/units/jinan-lixia-zj/reopen", data=data)
    assert refused.status_code == 422
    assert "新的截止时间应晚于当前时间。" in refused.get_data(as_text=True)
    data["due_date"] = "2024-10-08"
    assert client.post("/board/units/jinan-lixia-zj/reopen", data=data).status_code == 302
    reopening = db.session.scalar(select(UnitReopening))
    assert reopening.created_by.username == "jinan-zj-admin"
    assert not is_locked(unit("jinan-lixia-zj").id, campaign())
    assert "补报至 10-08 20:00" in row_html(client.get("/board/").get_data(as_text=True), "jinan-lixia-zj")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unit.reopen"))
    assert event.changes["due_at"] == ["2024-10-05 18:00", "2024-10-08 20:00"] and event.from_state == "locked"


def test_reopening_is_for_the_levels_above_only(client, login_as):
    login_as("jinan-zj-admin")
    assert client.get("/board/units/qingdao-zj").status_code == 404  # a sibling city
    assert client.get("/board/units/jinan-zj").status_code == 403  # its own unit: the province reopens it
    login_as("jinan-lixia-zj-admin")
    assert client.get("/board/units/jinan-shizhong-zj").status_code == 403
    login_as("province")
    assert client.get("/board/units/jinan-lixia-zj").status_code == 200  # the root, anywhere below
