"""Figures and charts: reported entries per city, task, kind and day, as SVG and as tables."""
import re
from datetime import date
from urllib.parse import quote

from sqlalchemy import select

from qmonth.charts import column_chart
from qmonth.board.stats import campaign_stats
from qmonth.extensions import db
from qmonth.models import Activity, ActivityKind, ActivityState, Task, User

from tests.helpers import campaign, unit
from tests.board.support import without_activities


def make(code, state, kind, tasks, participants, starts_on, ends_on=None):
    activity = Activity(
        campaign=campaign(), unit=unit(code), author=db.session.scalar(select(User).where(User.username == code)),
        title=f"{code}活动", state=state, starts_on=starts_on, ends_on=ends_on or starts_on,
        kind=db.session.scalar(select(ActivityKind).where(ActivityKind.code == kind)),
        tasks=list(db.session.scalars(select(Task).where(Task.number.in_(tasks)))), participants=participants,
        county="历下区", figures={})
    db.session.add(activity)
    return activity


def known_entries():
    without_activities()
    make("jinan-zj", ActivityState.ACCEPTED, "training", [2], 100, date(2024, 9, 10))
    make("jinan-cg", ActivityState.SUBMITTED, "training", [2, 3], 50, date(2024, 9, 10))
    make("qingdao-zj", ActivityState.ACCEPTED, "publicity", [1], 30, date(2024, 9, 11), date(2024, 9, 13))
    make("qingdao-zj", ActivityState.DRAFT, "publicity", [1], 999, date(2024, 9, 11))  # not counted
    make("heze-sw", ActivityState.RETURNED, "inspection", [9], 999, date(2024, 9, 12))  # not counted
    db.session.commit()


def test_figures_count_submitted_and_accepted_entries(app):
    known_entries()
    stats = campaign_stats(campaign())
    cities = {row.label: row for row in stats.by_city}
    assert len(cities) == 16
    assert (cities["济南"].submitted, cities["济南"].accepted, cities["济南"].participants) == (1, 1, 150)
    assert (cities["青岛"].total, cities["青岛"].participants) == (1, 30)
    assert cities["菏泽"].total == 0 and cities["济南"].args == {"city": "济南"}
    tasks = {row.args["task"]: row.total for row in stats.by_task}
    assert tasks == {1: 1, 2: 2, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0}
    kinds = {row.args["kind"]: row.total for row in stats.by_kind}
    assert kinds["training"] == 2 and kinds["publicity"] == 1 and kinds["inspection"] == 0
    days = {row.label: row.total for row in stats.by_day}
    assert len(days) == 30
    assert (days["9月10日"], days["9月11日"], days["9月12日"], days["9月13日"], days["9月14日"]) == (2, 1, 1, 1, 0)
    assert (stats.total, stats.participants) == (3, 180)


def test_the_stats_page_draws_charts_with_their_numbers(app, client, login_as):
    known_entries()
    login_as("province")
    page = client.get("/board/stats").get_data(as_text=True)
    for title in ("各市活动数量", "各市参与人次", "各项重点任务活动数量", "各类型活动数量", "9月每日开展活动数量"):
        assert f">{title}</title>" in page, title
    city_svg = re.search(r'<svg[^>]*id="chart-city".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in city_svg and 'aria-labelledby="chart-city-title chart-city-desc"' in city_svg
    assert re.search(r"<desc[^>]*>济南2项；青岛1项；淄博0项", city_svg)
    people_svg = re.search(r'<svg[^>]*id="chart-city-people".*?</svg>', page, re.S).group(0)
    assert "济南150人次" in people_svg
    # Each bar's numbers as a table; every count opens the list it counts.
    jinan = quote("济南")
    assert f'href="/activities/?state=accepted&amp;city={jinan}">1</a>' in page
    assert f'href="/activities/?state=submitted&amp;city={jinan}">1</a>' in page
    assert f'href="/activities/?city={jinan}">2</a>' in page
    assert 'href="/activities/?state=accepted&amp;date_from=2024-09-12&amp;date_to=2024-09-12">1</a>' in page
    assert 'href="/activities/?state=submitted&amp;task=3">1</a>' in page
    listed = client.get("/activities/?state=accepted&date_from=2024-09-12&date_to=2024-09-12").get_data(as_text=True)
    assert len(re.findall(r'<tr id="activity-\d+"', listed)) == 1


def test_the_day_chart_is_a_labelled_column_chart():
    chart = column_chart("每日活动", [(f"9月{day}日", day % 4) for day in range(1, 31)], chart_id="days")
    svg = str(chart.svg)
    assert svg.count("<rect") == 30 and ">9月1日</text>" in svg and ">9月30日</text>" in svg
    assert "<title>9月3日：3项</title>" in svg and chart.total == sum(day % 4 for day in range(1, 31))
    assert "<script" not in svg


def test_stats_are_for_the_province(client, login_as):
    login_as("jinan-zj-admin")
    assert client.get("/board/stats").status_code == 403

