"""The board at every level: a city bureau follows its counties as the province follows its cities
(their figures and reports, their due date, 催报 and 补报); the province drills down to them."""
import re

from sqlalchemy import select

from qmonth.deadlines import LOCKED_MESSAGE, ReportStatus, effective_due_at, is_locked
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
