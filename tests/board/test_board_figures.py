"""A board's figures and the activity lists they open hold the same entries, at every level: a
city's board (and the province's drilled to that city) counts its counties' entries, never the
city's own nor other cities'; on the province's board a city's row counts its own entries and its
counties' (its subtree, as its report rolls them up); every chip and cell opens a list of exactly
those entries."""
import html
import re

import pytest

from qmonth.board.rows import build_board
from qmonth.models import ActivityState

from tests.helpers import build_activity, campaign, clear_activities, unit

CHIP = re.compile(r'<a class="chip" href="([^"]+)">(\S+?)活动 <strong>(\d+)</strong>')
CELL = re.compile(r'<td class="num cell-(?:state|total)" data-label="([^"]+)"><a href="([^"]+)">(\d+)</a>')


def listed(client, href: str) -> int:
    """How many entries the activity list behind a link holds, as its summary says."""
    response = client.get(html.unescape(href))
    assert response.status_code == 200, href
    page = response.get_data(as_text=True)
    if "共 0 条" in page:
        return 0
    return int(re.search(r"共 <strong>(\d+)</strong> 条", page).group(1))


def row_html(page: str, code: str) -> str:
    row = page[page.index(f'<tr id="unit-{code}"'):]
    return row[:row.index("</tr>")]


def entries() -> None:
    """济南 itself, two of its counties, and 青岛: only the counties are on 济南's board."""
    clear_activities()
    for state in (ActivityState.SUBMITTED, ActivityState.SUBMITTED, ActivityState.DRAFT):
        build_activity("jinan-zj", "济南市质量宣传", state=state)
    for state in (ActivityState.SUBMITTED, ActivityState.ACCEPTED, ActivityState.DRAFT):
        build_activity("jinan-lixia-zj", "历下区质量讲堂", state=state)
    for state in (ActivityState.SUBMITTED, ActivityState.RETURNED):
        build_activity("jinan-zhangqiu-zj", "章丘区工地观摩", state=state)
    build_activity("qingdao-zj", "青岛市质量宣传", state=ActivityState.SUBMITTED)


@pytest.mark.parametrize("username, url", [("jinan-zj-admin", "/board/"), ("province", "/board/?under=jinan-zj")])
def test_a_city_boards_figures_are_what_its_counties_lists_hold(client, login_as, username, url):
    entries()
    login_as(username)
    page = client.get(url).get_data(as_text=True)
    chips = {label: (href, int(number)) for href, label, number in CHIP.findall(page)}
    # The counties' entries only: not 济南's own three, not 青岛's.
    assert {label: number for label, (_href, number) in chips.items()} == {
        "草稿": 1, "已报送": 2, "已采纳": 1, "已退回": 1}
    for label, (href, number) in chips.items():
        assert "under=jinan-zj" in href
        assert listed(client, href) == number, label
    # Each county's cells open the list of that county's entries, with the same numbers.
    for code, total in (("jinan-lixia-zj", 3), ("jinan-zhangqiu-zj", 2), ("jinan-shanghe-zj", 0)):
        cells = CELL.findall(row_html(page, code))
        assert ("合计", str(total)) in {(label, number) for label, _href, number in cells}
        for label, href, number in cells:
            assert listed(client, href) == int(number), (code, label)


def test_the_list_opened_from_a_board_says_whose_entries_it_shows(client, login_as):
    entries()
    login_as("jinan-zj-admin")
    page = client.get("/activities/?under=jinan-zj&state=submitted").get_data(as_text=True)
    assert "仅显示<strong>济南市住房和城乡建设局的下级单位</strong>的活动" in page
    assert '<input type="hidden" name="under" value="jinan-zj">' in page  # kept by the filters
    assert "济南市质量宣传" not in page and "历下区质量讲堂" in page
    # The export of that list holds the same entries.
    csv = client.get("/activities/export.csv?under=jinan-zj&state=submitted").get_data(as_text=True)
    assert csv.count("历下区质量讲堂") == 1 and "济南市质量宣传" not in csv
    # A unit outside one's subtree is ignored, as every unknown filter value is: the whole list.
    whole = client.get("/activities/?under=qingdao-zj&state=submitted").get_data(as_text=True)
    assert "仅显示" not in whole and "济南市质量宣传" in whole and "青岛市质量宣传" not in whole


def test_the_provinces_own_board_counts_what_its_list_opens(client, login_as):
    entries()
    login_as("province")
    page = client.get("/board/").get_data(as_text=True)
    chips = {label: (href, int(number)) for href, label, number in CHIP.findall(page)}
    # The cities' subtrees: 济南 2 + its counties 2, 青岛 1 submitted.
    assert chips["已报送"][1] == 5
    for label, (href, number) in chips.items():
        assert listed(client, href) == number, label


def test_a_citys_row_on_the_provinces_board_counts_its_counties_too(client, login_as):
    """济南's row: its own 3 entries and its counties' 5, in every state column, the total and the
    submitted-and-accepted figures; each cell opens a list of exactly those entries."""
    entries()
    login_as("province")
    page = client.get("/board/").get_data(as_text=True)
    assert "各单位的活动数和参与人次含下级单位。" in page
    jinan = row_html(page, "jinan-zj")
    cells = {label: (href, int(number)) for label, href, number in CELL.findall(jinan)}
    assert {label: number for label, (_href, number) in cells.items()} == {
        "草稿": 2, "已报送": 4, "已采纳": 1, "已退回": 1, "合计": 8}
    for label, (href, number) in cells.items():
        assert "subtree=jinan-zj" in href
        assert listed(client, href) == number, label
    # Submitted and accepted (参与人次 too): 济南's 2 and its counties' 3, 50 people each.
    row = next(row for row in build_board(campaign()).rows if row.unit.code == "jinan-zj")
    assert (row.counted, row.participants) == (5, 250)
    # Its own row, on its own unit page, holds the same figures.
    assert build_board(campaign(), unit_id=unit("jinan-zj").id).rows[0].counts == row.counts
    # A city without counties keeps its own figures and its own list.
    qingdao = {label: (href, int(number)) for label, href, number in CELL.findall(row_html(page, "qingdao-zj"))}
    assert qingdao["合计"][1] == 1 and "unit=qingdao-zj" in qingdao["合计"][0]


def test_the_list_opened_from_a_row_says_it_holds_the_units_below(client, login_as):
    entries()
    login_as("province")
    page = client.get("/activities/?subtree=jinan-zj&state=submitted").get_data(as_text=True)
    assert "仅显示<strong>济南市住房和城乡建设局及其下级单位</strong>的活动" in page
    assert '<input type="hidden" name="subtree" value="jinan-zj">' in page
    assert "济南市质量宣传" in page and "历下区质量讲堂" in page and "青岛市质量宣传" not in page
