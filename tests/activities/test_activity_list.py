"""The activity list: who sees what, search, filters, counts, pages and htmx fragments."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import delete, select

from qmonth.extensions import db
from qmonth.models import Activity, ActivityKind, ActivityState, Campaign, Unit, User, activity_task

from tests.helpers import BASE_TIME, build_activity, clear_activities


@pytest.fixture(autouse=True)
def no_activities(app):
    clear_activities()


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="activity-(\d+)"', html)]


def titles_of(html: str) -> list[str]:
    return re.findall(r'<td data-label="活动名称" class="cell-title">\s*<a href="[^"]+">([^<]+)</a>', html)


def get_list(client, query: str = "", htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(f"/activities/{query}", headers=headers)
    assert response.status_code == 200
    return response


def test_bureau_sees_only_its_own_entries_and_province_sees_all(app, client, login_as):
    build_activity("jinan-zj", "济南住建培训")
    build_activity("qingdao-zj", "青岛住建培训")
    build_activity("jinan-lixia-zj", "历下区住建培训")
    login_as("qingdao-zj")
    html = get_list(client).get_data(as_text=True)
    assert "青岛住建培训" in html and "济南住建培训" not in html and "历下区住建培训" not in html
    assert "<th>单位</th>" not in html  # a bureau with no units below needs no unit column
    assert 'name="city"' not in html and 'name="unit"' not in html

    login_as("jinan-zj")  # a city bureau sees its counties' entries too, by unit
    html = get_list(client).get_data(as_text=True)
    assert "济南住建培训" in html and "历下区住建培训" in html and "青岛住建培训" not in html
    assert "<th>单位</th>" in html and "历下区住房城乡建设局" in html

    login_as("jinan-lixia-zj")
    html = get_list(client).get_data(as_text=True)
    assert "历下区住建培训" in html and "济南住建培训" not in html

    login_as("province")
    html = get_list(client).get_data(as_text=True)
    assert "济南住建培训" in html and "青岛住建培训" in html
    assert "青岛市住房和城乡建设局" in html
    assert 'name="city"' in html and 'name="unit"' in html


@pytest.mark.parametrize("page_reads_rows", [False, True], ids=["page-by-index", "page-reads-rows"])
@pytest.mark.parametrize("common_terms", [False, True], ids=["rare-terms", "common-terms"])
def test_a_citys_search_finds_its_own_and_its_counties_matches_only(app, client, login_as, monkeypatch,
                                                                    page_reads_rows, common_terms, database):
    """A middle node's search: its own entries and its counties', never a sibling city's or a
    county of another city. On PostgreSQL the subtree is also spelled out as ids for the planner;
    the root's (everything) and a unit's without units below are not. A page with many matches
    reads the newest rows instead (then the unit is tested before the text): both ways here. A
    term PostgreSQL's statistics call common is counted unit by unit (`_matches`): both ways too."""
    from sqlalchemy import event

    from qmonth.activities import listing, pgsearch
    from qmonth.activities.listing import spelled_subtree
    from qmonth.units import add_child

    monkeypatch.setattr(listing, "SEARCH_READS_ROWS_FROM", 0 if page_reads_rows else 10 ** 9)
    monkeypatch.setattr(pgsearch, "estimated_share", lambda q: 1.0 if common_terms else 0.0)
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    build_activity("jinan-zj", "济南住建质量培训")
    build_activity("jinan-lixia-zj", "历下区质量培训")
    build_activity("jinan-shizhong-zj", "市中区质量观摩")
    build_activity("jinan-cg", "济南城管质量培训")
    build_activity("qingdao-zj", "青岛住建质量培训")
    login_as("jinan-zj")
    for query in ("?q=培训", "?q=质量培训", "?q=培", "?q=质量 培训"):
        found = sorted(titles_of(get_list(client, query, htmx=True).get_data(as_text=True)))
        assert found == sorted(["济南住建质量培训", "历下区质量培训"]), query
    found = titles_of(get_list(client, "?q=质量").get_data(as_text=True))
    assert sorted(found) == sorted(["济南住建质量培训", "历下区质量培训", "市中区质量观摩"])
    assert "共 <strong>3</strong> 条" in get_list(client, "?q=质量").get_data(as_text=True)
    unit_by_unit = database == "postgresql" and common_terms
    assert any("JOIN LATERAL" in statement for statement in statements) == unit_by_unit

    def subtree_of(code: str) -> set[int]:
        path = db.session.scalar(select(Unit.path).where(Unit.code == code))
        return set(db.session.scalars(select(Unit.id).where(Unit.path.like(path + "%"))))

    def named(username: str) -> User:
        return db.session.scalar(select(User).where(User.username == username))

    add_child(db.session.scalar(select(Unit).where(Unit.code == "qingdao-zj")), code="qingdao-shinan-zj",
              name="市南区住房城乡建设局", by=None)
    db.session.commit()
    with app.test_request_context():  # two middle nodes asked in one context: each its own subtree
        assert set(spelled_subtree(named("jinan-zj"))) == subtree_of("jinan-zj")
        assert set(spelled_subtree(named("qingdao-zj"))) == subtree_of("qingdao-zj")
        for username in ("province", "jinan-lixia-zj", "jinan-cg"):
            assert spelled_subtree(named(username)) is None


def test_the_unit_filter_lists_two_levels_and_deeper_units_are_reached_by_code(app, client, login_as):
    """The root's unit filter lists its bureaus and their counties, not a town below a county (a
    ministry's root would list the nation); a board's link to a deeper unit still narrows the list,
    and a code outside the user's subtree still narrows nothing."""
    from qmonth.units import add_child

    town = add_child(db.session.scalar(select(Unit).where(Unit.code == "jinan-lixia-zj")), code="jinan-lixia-jd-zj",
                     name="历下区解放路街道建设办", by=None)
    db.session.commit()
    build_activity("jinan-lixia-zj", "街道质量宣传").unit = town  # the town has no accounts of its own
    db.session.commit()
    build_activity("jinan-lixia-zj", "历下区质量培训")
    build_activity("qingdao-zj", "青岛住建质量培训")
    login_as("province")
    page = get_list(client).get_data(as_text=True)
    assert '<option value="jinan-lixia-zj"' in page and '<option value="jinan-lixia-jd-zj"' not in page
    assert titles_of(get_list(client, "?unit=jinan-lixia-jd-zj").get_data(as_text=True)) == ["街道质量宣传"]
    subtree = get_list(client, "?subtree=jinan-lixia-zj").get_data(as_text=True)
    assert sorted(titles_of(subtree)) == sorted(["街道质量宣传", "历下区质量培训"])

    login_as("jinan-zj")  # a city: its counties and their towns are two levels, all listed
    page = get_list(client).get_data(as_text=True)
    assert '<option value="jinan-lixia-jd-zj"' in page
    login_as("jinan-lixia-zj")
    own = titles_of(get_list(client, "?unit=qingdao-zj").get_data(as_text=True))
    assert "青岛住建质量培训" not in own and set(own) == {"街道质量宣传", "历下区质量培训"}
    assert titles_of(get_list(client, "?unit=jinan-lixia-jd-zj").get_data(as_text=True)) == ["街道质量宣传"]


def test_bureau_cannot_widen_its_list_with_unit_or_city_params(app, client, login_as):
    build_activity("jinan-zj", "济南住建培训")
    build_activity("qingdao-zj", "青岛住建培训")
    login_as("jinan-zj")
    html = get_list(client, "?unit=qingdao-zj&city=青岛").get_data(as_text=True)
    assert titles_of(html) == ["济南住建培训"]


def test_list_shows_only_the_active_campaign(app, client, login_as):
    build_activity("jinan-zj", "本年度活动")
    old = Campaign(slug="2023-old", year=2023, title="旧活动", theme="旧", starts_on=date(2023, 9, 1),
                   ends_on=date(2023, 9, 30), report_due_at=datetime(2023, 10, 10, tzinfo=timezone.utc),
                   issuer="省厅", issued_on=date(2023, 8, 1), is_active=False)
    db.session.add(old)
    db.session.flush()
    kind = ActivityKind(campaign=old, code="training", name="培训", figures=[])
    db.session.add(kind)
    unit = db.session.scalar(select(Unit).where(Unit.code == "jinan-zj"))
    author = db.session.scalar(select(User).where(User.username == "jinan-zj"))
    db.session.add(Activity(campaign=old, unit=unit, author=author, kind=kind, title="去年的活动"))
    db.session.commit()
    login_as("jinan-zj")
    html = get_list(client).get_data(as_text=True)
    assert "本年度活动" in html and "去年的活动" not in html


@pytest.mark.parametrize("query", ["钢筋", "检测实验室", "历城区", "工业南路"])
def test_search_narrows_by_title_description_and_place(app, client, login_as, query):
    build_activity("jinan-zj", "钢筋工程质量培训", description="面向施工企业", county="历下区", address="经十路")
    build_activity("jinan-zj", "开放日", description="走进检测实验室", county="历下区", address="经十路")
    build_activity("jinan-zj", "观摩会", description="观摩", county="历城区", address="工业南路 88 号")
    build_activity("jinan-zj", "其他活动", description="无关", county="槐荫区", address="无")
    login_as("jinan-zj")
    html = get_list(client, f"?q={query}").get_data(as_text=True)
    assert len(row_ids(html)) == 1
    assert f'value="{query}"' in html  # the search box keeps what was typed


def test_search_terms_all_have_to_match_and_wildcards_are_literal(app, client, login_as):
    build_activity("jinan-zj", "钢筋工程质量培训", county="历下区")
    build_activity("jinan-zj", "钢筋验收观摩", county="历城区")
    build_activity("jinan-zj", "100% 覆盖的宣传")
    login_as("jinan-zj")
    assert titles_of(get_list(client, "?q=钢筋 历城").get_data(as_text=True)) == ["钢筋验收观摩"]
    assert titles_of(get_list(client, "?q=%25").get_data(as_text=True)) == ["100% 覆盖的宣传"]
    assert titles_of(get_list(client, "?q=_").get_data(as_text=True)) == []


SEARCHED_FIELDS = ["title", "description", "county", "address"]


@pytest.mark.parametrize("field", SEARCHED_FIELDS)
@pytest.mark.parametrize("term", ["鲸", "鲸鱼", "观看", "蓝鲸鱼", "观看蓝鲸鱼"])
def test_search_finds_a_term_of_any_length_anywhere_in_each_field(app, client, login_as, field, term):
    """One, two and more characters; at the start, inside and at the very end of the field.
    (The province's search looks terms up in SQLite's trigram index; a bureau's reads its rows.)"""
    texts = {"title": "其他活动", "description": "无关", "county": "槐荫区", "address": "无"}
    build_activity("jinan-zj", **{**texts, field: "观看蓝鲸鱼"})
    build_activity("qingdao-zj", "对照活动", description="蓝色海洋", county="历下区", address="鱼市街")
    login_as("province")
    html = get_list(client, f"?q={term}").get_data(as_text=True)
    assert titles_of(html) == ["观看蓝鲸鱼" if field == "title" else "其他活动"]


def test_search_does_not_match_across_two_fields(app, client, login_as):
    build_activity("jinan-zj", "参观蓝", description="鲸鱼馆", county="历下区", address="海洋路")
    login_as("province")
    for term in ("蓝鲸", "观蓝鲸", "蓝鲸鱼"):
        assert titles_of(get_list(client, f"?q={term}").get_data(as_text=True)) == [], term
    assert titles_of(get_list(client, "?q=鲸鱼").get_data(as_text=True)) == ["参观蓝"]


@pytest.mark.parametrize("term", ["bim", "BIM", "Bi", "bim技术", "BIM技", "a+", "A+b", "b 级"])
def test_search_ignores_the_case_of_latin_letters(app, client, login_as, term):
    build_activity("jinan-zj", "BIM技术交流", description="工程质量A+B 级评定")
    build_activity("jinan-zj", "质量讲堂")
    login_as("province")
    html = get_list(client, f"?q={quote(term)}").get_data(as_text=True)
    assert titles_of(html) == ["BIM技术交流"]


def test_search_finds_the_new_text_after_an_edit_and_forgets_deleted_entries(app, client, login_as):
    activity = build_activity("jinan-zj", "防水工程观摩", description="屋面防水", county="历下区", address="经十路")
    build_activity("jinan-zj", "质量讲堂")
    login_as("province")
    assert titles_of(get_list(client, "?q=防水").get_data(as_text=True)) == ["防水工程观摩"]

    activity.title = "隔音降噪观摩"
    activity.description = "楼板隔声"
    activity.address = "工业南路"
    db.session.commit()
    for term in ("隔音降噪", "隔声", "工业南", "降噪"):
        assert titles_of(get_list(client, f"?q={term}").get_data(as_text=True)) == ["隔音降噪观摩"], term
    for term in ("防水", "防水工程", "经十路"):
        assert titles_of(get_list(client, f"?q={term}").get_data(as_text=True)) == [], term

    db.session.execute(delete(activity_task).where(activity_task.c.activity_id == activity.id))
    db.session.delete(activity)
    db.session.commit()
    assert titles_of(get_list(client, "?q=隔音降噪").get_data(as_text=True)) == []


@pytest.mark.sqlite_only("the trigram index is SQLite's")
def test_search_index_follows_the_activity_table(app):
    """Migrations leave the triggers in place, and the index drops what is deleted."""
    triggers = set(db.session.scalars(db.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    assert {"activity_search_insert", "activity_search_update", "activity_search_delete"} <= triggers
    activity = build_activity("jinan-zj", "独一无二的标题")
    in_index = db.text("SELECT count(*) FROM activity_search WHERE body MATCH :term")
    assert db.session.scalar(in_index, {"term": '"独一无二"'}) == 1
    db.session.execute(delete(activity_task).where(activity_task.c.activity_id == activity.id))
    db.session.delete(activity)
    db.session.commit()
    assert db.session.scalar(in_index, {"term": '"独一无二"'}) == 0
    db.session.execute(db.text("INSERT INTO activity_search (activity_search, rank) VALUES ('integrity-check', 0)"))


TRICKY_TEXTS = [
    ("Quality 100%_done", "引号\"里\"", "back\\slash", "ÉTÉ été"),
    ("末尾", "a\"b", "x_y", "z%"),
    ("BIM", "bim技术", "第1期第2期", "一二三四五"),
]


@pytest.mark.parametrize("term", [
    "x", "X", "%", "_", "\\", '"', "ab", "AB", "bi", "Bi", "a\"", '"b', "_y", "z%", "尾", "末尾", "1期", "期第",
    "quality", "QUALITY", "100%", "%_", "0%_d", "back\\", "\\sl", "été", "ÉTÉ", "Été", "bim技", "二三四", "五",
    "尾a", "期第2期", "\x01", "ty 1",
])
def test_index_finds_exactly_what_like_finds(app, term):
    """The index (SQLite's trigrams, PostgreSQL's pieces) and LIKE on each row (what a bureau's
    search and a page of many matches use) agree."""
    from qmonth.activities.listing import ListFilters, _narrowed

    for title, description, county, address in TRICKY_TEXTS:
        build_activity("jinan-zj", title, description=description, county=county, address=address)
    province = db.session.scalar(select(User).where(User.username == "province"))
    filters = ListFilters.from_args({"q": term}, province)

    def found(read_rows: bool) -> set[int]:
        query = _narrowed(province, filters, read_rows=read_rows).with_only_columns(Activity.id)
        return set(db.session.scalars(query))

    assert found(read_rows=False) == found(read_rows=True)


CASE_TEXTS = [
    ("İstanbul ẞ Straße", "Kelvin \u212a 温度", "ＡＢＣ全角", "１２３期"),
    ("ǅ titlecase ǈ", "Ⓐ circled ⓐ", "Ⅻ roman ⅻ", "ΣΑΣ σας"),
    ("培训班（第１期）", "质量—安全", "𪚥村", "「检测」开放日"),
]


@pytest.mark.parametrize("term", [
    "培训", "（第１期）", "１２３", "—安", "𪚥", "「检测」", "期", "k", "K", "\u212a", "ß", "ss", "SS", "ẞ", "i", "İ",
    "ａｂｃ", "ＡＢＣ", "ⓐ", "Ⓐ", "ⅻ", "ǆ", "ǅ", "σ", "ς", "Σας", "%", "_", "\\", "%_", '"',
])
@pytest.mark.postgresql_only("PostgreSQL's ILIKE; SQLite compares with its own LIKE")
def test_postgresql_search_finds_what_ilike_finds(app, term):
    """A term without case (Chinese, digits, punctuation, LIKE's own wildcards) is looked for as a
    plain substring (strpos), several times cheaper per row on PostgreSQL than ILIKE; it must find
    exactly what ILIKE, the definition, finds: with the index and by reading rows, against texts
    full of letters that case folding changes or produces."""
    from qmonth.activities.listing import ListFilters, _narrowed, has_no_case

    for title, description, county, address in CASE_TEXTS + TRICKY_TEXTS:
        build_activity("jinan-zj", title, description=description, county=county, address=address)
    province = db.session.scalar(select(User).where(User.username == "province"))
    filters = ListFilters.from_args({"q": term}, province)
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    by_ilike = set(db.session.scalars(select(Activity.id).where(
        Activity.title.ilike(pattern) | Activity.county.ilike(pattern) | Activity.address.ilike(pattern)
        | Activity.description.ilike(pattern))))
    for read_rows in (False, True):
        query = _narrowed(province, filters, read_rows=read_rows).with_only_columns(Activity.id)
        compiled = str(query.compile(db.engine))
        assert ("ILIKE" not in compiled) == has_no_case(term), compiled
        assert set(db.session.scalars(query)) == by_ilike, (term, read_rows)
    assert by_ilike or term.lower() == "ss", term  # the texts hold every other term


@pytest.mark.parametrize("term, titles", [
    ("𪚥", {"𪚥村培训班"}), ("𠮷祥", {"𠮷祥检测开放日"}), ("祥检测", {"𠮷祥检测开放日"}), ("𠮷", {"𠮷祥检测开放日", "𠮷野观摩", "观摩"}),
])
def test_postgresql_looks_search_terms_up_in_its_index(app, database, term, titles):
    """Terms of one, two and three characters (beyond GBK too) use the pieces index on
    PostgreSQL, and find exactly the activities that hold them."""
    from qmonth.activities.listing import ListFilters, _narrowed

    if database != "postgresql":
        pytest.skip("PostgreSQL's own index; SQLite's is tested above")
    build_activity("jinan-zj", "𪚥村培训班", description="质量安全培训")
    build_activity("jinan-zj", "𠮷祥检测开放日", description="检测机构")
    build_activity("jinan-zj", "观摩", county="𠮷野", description="祥和")
    build_activity("jinan-zj", "𠮷野观摩")
    province = db.session.scalar(select(User).where(User.username == "province"))
    settings = "SELECT current_setting('enable_seqscan'), current_setting('work_mem'), " \
               "current_setting('max_parallel_workers_per_gather')"
    before = tuple(db.session.execute(db.text(settings)).one())
    query = _narrowed(province, ListFilters.from_args({"q": term}, province)).with_only_columns(Activity.title)
    assert set(db.session.scalars(query)) == titles
    # The search ran with its own settings, and the transaction's are back right after it.
    assert tuple(db.session.execute(db.text(settings)).one()) == before == ("on", "4MB", "2")
    # The table is tiny, so the planner would rather read it row by row, computing the pieces
    # of each: statements that search run with sequential scans off, and must find the index
    # by its expression.
    from qmonth.activities.pgsearch import pieces_of_term_present

    lookup = select(Activity.id).where(pieces_of_term_present(term))
    compiled = lookup.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = "\n".join(db.session.scalars(db.text(f"EXPLAIN {compiled}")))
    assert "ix_activity_search_pieces" in plan, plan
    # ... and only those statements: the rest of the transaction plans as usual.
    assert db.session.scalar(db.text("SHOW enable_seqscan")) == "on"


@pytest.mark.parametrize("username, unit, key, titles", [
    ("jinan-lixia-zj", None, "unit", {"历下区质量培训"}),
    ("jinan-zj", None, "in", {"济南住建质量培训", "历下区质量培训"}),
    ("jinan-zj", None, "unit", {"济南住建质量培训", "历下区质量培训"}),
    ("province", "jinan-zj", "unit", {"济南住建质量培训"}),
], ids=["county", "city", "city-holding-a-large-share", "root-filtering-one-unit"])
def test_postgresql_looks_the_units_searched_up_in_the_same_index_as_the_term(app, database, monkeypatch, username,
                                                                              unit, key, titles):
    """A county's, a city's and a unit filter's search name their units as a key of the search
    index ('unit:<id>' a unit's own entries, 'in:<id>' its subtree's), so one index scan finds the
    term and the units together; the matches are exactly the scoped ones. A city that PostgreSQL's
    statistics say holds a large share of the entries names each of its units instead."""
    from qmonth.activities import pgsearch
    from qmonth.activities.listing import ListFilters, _narrowed, _units_among_keys
    from qmonth.activities.pgsearch import pieces_of_term_present, unit_key

    if database != "postgresql":
        pytest.skip("PostgreSQL's own index; SQLite's search of one unit reads its rows")
    # The statistics as they would read in a large campaign: 培训 common (a rare term needs no unit
    # keys), and the city's share either way.
    shares = {"培训": 0.125}
    if username == "jinan-zj":
        city = db.session.scalar(select(Unit.id).where(Unit.code == "jinan-zj"))
        shares[pgsearch.subtree_key(city)] = 0.23 if key == "unit" else 0.01
    monkeypatch.setattr(pgsearch, "piece_shares", lambda: (shares, 1_000_000.0))
    build_activity("jinan-zj", "济南住建质量培训")
    build_activity("jinan-lixia-zj", "历下区质量培训")
    build_activity("jinan-shizhong-zj", "市中区质量观摩")
    build_activity("qingdao-zj", "青岛住建质量培训")
    user = db.session.scalar(select(User).where(User.username == username))
    keys = db.session.scalar(db.text(
        "SELECT (qmonth_search_pieces('x') || ARRAY['unit:' || CAST(unit_id AS TEXT)]) FROM activity "
        "WHERE title = '历下区质量培训'"))
    assert keys[-1] == unit_key(db.session.scalar(select(Unit.id).where(Unit.code == "jinan-lixia-zj")))
    with app.test_request_context():
        filters = ListFilters.from_args({"q": "培训", **({"unit": unit} if unit else {})}, user)
        query = _narrowed(user, filters).with_only_columns(Activity.title)
        assert set(db.session.scalars(query)) == titles
        # The count's statement tests the scope and the unit filter on the rows the keys found.
        counted = _narrowed(user, filters, counting=True).with_only_columns(Activity.title)
        assert "activity.unit_id + " in str(counted.compile(db.engine))
        assert set(db.session.scalars(counted)) == titles
        # The conditions on the index alone (in a table this small the planner reads the campaign's
        # rows otherwise): the term's pieces and the units' keys are looked up in one scan.
        lookup = select(Activity.id).where(pieces_of_term_present("培训"), *_units_among_keys(user, filters))
        compiled = lookup.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(db.text(f"EXPLAIN {compiled}")))
    index_scan = plan.split("Bitmap Index Scan on ix_activity_search_pieces")[1].split("\n")[1]
    assert "'{" + key + ":" in index_scan and "培训" in index_scan, plan


@pytest.mark.parametrize("username", ["jinan-zj", "jinan-lixia-zj", "province"])
def test_postgresql_looks_a_rare_term_up_by_its_rarest_pairs_alone(app, database, monkeypatch, username):
    """A term the statistics say is rare is looked up by just enough of its rarest pairs, without
    the units' keys (their lists would only add length); the rows found are still tested for the
    whole term and the scope, so the matches are exactly what ILIKE finds in the user's subtree."""
    from qmonth.activities import pgsearch
    from qmonth.activities.listing import ListFilters, _narrowed, _units_among_keys

    if database != "postgresql":
        pytest.skip("PostgreSQL's own index")
    # 12 in one entry of a thousand, 第1 and 2期 in three of ten: a million rows expect 1,000 to
    # hold 12, and 300 to hold 12 and 2期, enough to stop at; 第1 is not looked up.
    monkeypatch.setattr(pgsearch, "piece_shares",
                        lambda: ({"12": 0.001, "第1": 0.3, "2期": 0.3, "培训": 0.2}, 1_000_000.0))
    assert pgsearch.rarest_pairs("第12期") == ["12", "2期"]
    assert pgsearch.rarest_pairs("Ab12") is None and pgsearch.rarest_pairs("第") is None
    for code, title in [("jinan-zj", "济南第12期培训"), ("jinan-lixia-zj", "历下第12期观摩"),
                        ("qingdao-zj", "青岛第12期培训"), ("jinan-zj", "12月第2期培训"), ("jinan-lixia-zj", "第1期")]:
        build_activity(code, title)
    user = db.session.scalar(select(User).where(User.username == username))
    expected = {"jinan-zj": {"济南第12期培训", "历下第12期观摩"}, "jinan-lixia-zj": {"历下第12期观摩"},
                "province": {"济南第12期培训", "历下第12期观摩", "青岛第12期培训"}}[username]
    with app.test_request_context():
        filters = ListFilters.from_args({"q": "第12期"}, user)
        assert _units_among_keys(user, filters) == []
        for read_rows in (False, True):
            query = _narrowed(user, filters, read_rows=read_rows).with_only_columns(Activity.title)
            assert set(db.session.scalars(query)) == expected, read_rows
        compiled = str(_narrowed(user, filters).compile(db.engine, compile_kwargs={"literal_binds": True}))
    assert "@> ARRAY['12', '2期']" in compiled and "第1'" not in compiled, compiled
    assert not re.search(r"'(unit|in):\d", compiled), compiled  # no unit's key


def test_postgresql_search_keys_follow_a_unit_moved_to_another_city(app, database):
    """The search index's keys of the units above an entry come from a copy of its unit's path,
    kept by triggers: an entry made in a county, then the county moved to another city, is found by
    the new city's search (and its province's) through the new keys, and by the old city's no more."""
    from qmonth.activities.listing import ListFilters, _narrowed
    from qmonth.units import move_unit

    if database != "postgresql":
        pytest.skip("PostgreSQL's own index and triggers")
    build_activity("jinan-lixia-zj", "历下区质量培训")

    def unit(code: str) -> Unit:
        return db.session.scalar(select(Unit).where(Unit.code == code))

    def copied_path() -> str:
        return db.session.scalar(db.text("SELECT unit_path FROM activity WHERE title = '历下区质量培训'"))

    def found_by(username: str) -> set[str]:
        with app.app_context(), app.test_request_context():  # a request's own `g`, as in use
            user = db.session.scalar(select(User).where(User.username == username))
            query = _narrowed(user, ListFilters.from_args({"q": "培训"}, user)).with_only_columns(Activity.title)
            return set(db.session.scalars(query))

    assert copied_path() == unit("jinan-lixia-zj").path
    assert found_by("jinan-zj") == {"历下区质量培训"} and found_by("qingdao-zj") == set()
    move_unit(unit("jinan-lixia-zj"), unit("qingdao-zj"), by=None)
    db.session.commit()
    assert copied_path() == unit("jinan-lixia-zj").path == f"{unit('qingdao-zj').path}{unit('jinan-lixia-zj').id}/"
    assert found_by("qingdao-zj") == {"历下区质量培训"} and found_by("jinan-zj") == set()
    assert "历下区质量培训" in found_by("province")


@pytest.mark.parametrize("body", [
    "", "a", "\x01", "\x01\x01", "ab\x01cd\x01", "𠮷祥检测\x01𪚥村\x01", "培训培训训练\x01", "a\x01b",
    *("\x01".join(texts) + "\x01" for texts in TRICKY_TEXTS),
])
def test_postgresql_search_pieces_are_every_one_and_two_character_piece(app, database, body):
    """The index function's pieces, against their definition: each character and each pair of
    neighbours, none holding the separator between fields, each once."""
    if database != "postgresql":
        pytest.skip("PostgreSQL's own index function")
    expected = {body[i:i + width] for width in (1, 2) for i in range(len(body) - width + 1)
                if "\x01" not in body[i:i + width]}
    pieces = db.session.scalar(db.text("SELECT qmonth_search_pieces(:body)"), {"body": body})
    assert len(pieces) == len(set(pieces)) and set(pieces) == expected


@pytest.mark.parametrize("viewer, unit", [("province", "jinan-zj"), ("jinan-lixia-zj", "jinan-lixia-zj")],
                         ids=["root", "county"])
def test_a_page_of_many_matches_is_the_same_read_either_way(app, client, login_as, monkeypatch, viewer, unit):
    """Many matches: the page is found by reading the newest rows and testing each. Same pages; a
    county reads its own rows (by its own index), never a neighbour's newer ones."""
    from qmonth.activities import listing

    for number in range(23):
        build_activity(unit, f"培训班第{number}期", updated_at=BASE_TIME + timedelta(hours=number))
        if number % 4 == 0:
            build_activity(unit, f"观摩会第{number}期", updated_at=BASE_TIME + timedelta(hours=number, minutes=1))
        if viewer != "province":
            build_activity("jinan-shizhong-zj", f"市中区培训第{number}期", updated_at=BASE_TIME + timedelta(days=9))
    login_as(viewer)

    def pages() -> list[list[str]]:
        return [titles_of(get_list(client, f"?q=培训&page={page}").get_data(as_text=True)) for page in (1, 2)]

    monkeypatch.setattr(listing, "SEARCH_READS_ROWS_FROM", 10**9)  # never: look the matches up
    looked_up = pages()
    monkeypatch.setattr(listing, "SEARCH_READS_ROWS_FROM", 0)  # always: read rows in order
    read = pages()
    newest_first = [f"培训班第{number}期" for number in range(22, -1, -1)]
    assert looked_up == read == [newest_first[:20], newest_first[20:]]


@pytest.mark.parametrize("query", ["?q=钢筋检测", "?q=钢筋检测&sort=title", "?q=钢筋检测&state=submitted"])
def test_a_narrow_search_reads_its_page_by_id_and_shows_what_searching_again_shows(
        app, client, login_as, monkeypatch, query):
    """A page or less of matches: the count's query already found them, so the page is read by
    id (one search, not two), with the same rows, order and state filter, and still scoped."""
    from qmonth.activities import listing

    for number, title in enumerate(["钢筋检测丙", "钢筋检测甲", "钢筋检测乙", "钢筋检测戊"]):
        state = ActivityState.ACCEPTED if number == 1 else ActivityState.SUBMITTED
        build_activity("jinan-zj", title, state=state, updated_at=BASE_TIME + timedelta(hours=number))
    build_activity("jinan-zj", "安全生产讲座", state=ActivityState.SUBMITTED)
    build_activity("qingdao-zj", "钢筋检测丁", state=ActivityState.SUBMITTED)
    login_as("jinan-zj")
    searches = []
    narrowed = listing._narrowed
    monkeypatch.setattr(listing, "_narrowed", lambda *args, **kwargs: searches.append(1) or narrowed(*args, **kwargs))

    by_id = titles_of(get_list(client, query).get_data(as_text=True))
    searched_once = len(searches)
    searches.clear()
    monkeypatch.setattr(listing, "_page_among_matches", lambda *args: None)  # never by id: the page searches again
    searched_again = titles_of(get_list(client, query).get_data(as_text=True))

    assert (searched_once, len(searches)) == (1, 2)
    assert by_id == searched_again
    expected = {"钢筋检测丙", "钢筋检测乙", "钢筋检测戊"} | (set() if "state=" in query else {"钢筋检测甲"})
    assert set(by_id) == expected and len(by_id) == len(expected)
    if "sort=" not in query:
        assert by_id == sorted(expected, key=["钢筋检测丙", "钢筋检测甲", "钢筋检测乙", "钢筋检测戊"].index, reverse=True)


@pytest.mark.parametrize("cap", [1000, 30])
def test_a_citys_search_finds_its_pages_among_the_counted_matches(app, client, login_as, monkeypatch, cap):
    """A search whose count read every match takes its page from them, sorted as the list sorts:
    one search per page, not two. Every page, state tab and a page past the end show what
    searching again shows, newest first and scoped; past the count's cap (30 here) the page is
    searched for as before."""
    from qmonth.activities import listing

    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", cap)
    units = ["jinan-zj", "jinan-lixia-zj", "jinan-zhangqiu-zj"]
    mine = []
    for number in range(47):
        state = ActivityState.ACCEPTED if number % 3 == 0 else ActivityState.SUBMITTED
        title = f"培训班第{number}期"
        build_activity(units[number % 3], title, state=state, updated_at=BASE_TIME + timedelta(hours=number % 23,
                                                                                                  minutes=number))
        mine.append((BASE_TIME + timedelta(hours=number % 23, minutes=number), title, state))
    for number in range(5):  # newer, and another city's
        build_activity("qingdao-zj", f"培训班青岛{number}", updated_at=BASE_TIME + timedelta(days=3, hours=number))
    login_as("jinan-zj-admin")
    searches = []
    narrowed = listing._narrowed
    monkeypatch.setattr(listing, "_narrowed", lambda *args, **kwargs: searches.append(1) or narrowed(*args, **kwargs))
    newest_first = sorted(mine, reverse=True)

    for query in ["?q=培训", "?q=培训&page=2", "?q=培训&page=3", "?q=培训&page=9",
                  "?q=培训&state=accepted", "?q=培训&state=submitted&page=2"]:
        searches.clear()
        among_matches = titles_of(get_list(client, query).get_data(as_text=True))
        searched_for_once = len(searches) == 1
        with monkeypatch.context() as never_by_id:
            never_by_id.setattr(listing, "_page_among_matches", lambda *args: None)
            searched_again = titles_of(get_list(client, query).get_data(as_text=True))

        state = {"accepted": ActivityState.ACCEPTED, "submitted": ActivityState.SUBMITTED}.get(
            query.partition("state=")[2].partition("&")[0])
        in_state = [title for _, title, entry_state in newest_first if state in (None, entry_state)]
        page = int(query.partition("page=")[2] or 1)
        last_page = (min(len(in_state), cap) + 19) // 20
        number = min(page, last_page)
        assert among_matches == searched_again == in_state[(number - 1) * 20:number * 20], query
        if cap == 1000:
            assert searched_for_once, query


def test_filters_by_kind_task_and_state(app, client, login_as):
    build_activity("jinan-zj", "培训一", kind="training", state=ActivityState.SUBMITTED)
    build_activity("jinan-zj", "宣传一", kind="publicity", tasks=[1, 2], state=ActivityState.ACCEPTED)
    build_activity("jinan-zj", "巡查一", kind="inspection", state=ActivityState.RETURNED, return_reason="照片不清晰")
    login_as("jinan-zj")
    assert titles_of(get_list(client, "?kind=publicity").get_data(as_text=True)) == ["宣传一"]
    assert sorted(titles_of(get_list(client, "?task=2").get_data(as_text=True))) == ["培训一", "宣传一"]
    html = get_list(client, "?state=returned").get_data(as_text=True)
    assert titles_of(html) == ["巡查一"]
    assert "已退回" in html and "退回原因：照片不清晰" in html


def test_province_filters_by_city_and_unit(app, client, login_as):
    build_activity("jinan-zj", "济南住建")
    build_activity("jinan-cg", "济南城管")
    build_activity("qingdao-zj", "青岛住建")
    login_as("province")
    assert set(titles_of(get_list(client, "?city=济南").get_data(as_text=True))) == {"济南城管", "济南住建"}
    page = get_list(client, "?unit=jinan-cg").get_data(as_text=True)
    assert titles_of(page) == ["济南城管"]
    # The unit filter shows the chosen unit, and only it, as chosen.
    unit_select = re.search(r'<select name="unit".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)" selected>', unit_select) == ["jinan-cg"]
    assert titles_of(get_list(client, "?city=济南&unit=qingdao-zj").get_data(as_text=True)) == []


def test_date_range_keeps_activities_that_overlap_it(app, client, login_as):
    build_activity("jinan-zj", "月初", starts_on=date(2024, 9, 1), ends_on=date(2024, 9, 3))
    build_activity("jinan-zj", "跨越", starts_on=date(2024, 9, 5), ends_on=date(2024, 9, 20))
    build_activity("jinan-zj", "月末", starts_on=date(2024, 9, 28), ends_on=date(2024, 9, 30))
    build_activity("jinan-zj", "未填日期", starts_on=None, ends_on=None)
    login_as("jinan-zj")
    html = get_list(client, "?date_from=2024-09-10&date_to=2024-09-15").get_data(as_text=True)
    assert titles_of(html) == ["跨越"]
    html = get_list(client, "?date_from=2024-09-03").get_data(as_text=True)
    assert sorted(titles_of(html)) == ["月初", "月末", "跨越"]
    html = get_list(client, "?date_to=2024-09-04").get_data(as_text=True)
    assert titles_of(html) == ["月初"]
    # A range given backwards is read the right way round.
    html = get_list(client, "?date_from=2024-09-15&date_to=2024-09-10").get_data(as_text=True)
    assert titles_of(html) == ["跨越"]


def test_counts_per_state_ignore_the_state_filter_and_link_to_it(app, client, login_as):
    for _ in range(2):
        build_activity("jinan-zj", "草稿培训")
    build_activity("jinan-zj", "报送培训", state=ActivityState.SUBMITTED)
    build_activity("jinan-zj", "采纳宣传", kind="publicity", state=ActivityState.ACCEPTED)
    build_activity("jinan-zj", "退回培训", state=ActivityState.RETURNED)
    build_activity("qingdao-zj", "别人的草稿")
    login_as("jinan-zj")
    html = get_list(client, "?state=draft&q=培训").get_data(as_text=True)
    counts = dict(re.findall(r'data-state="(\w+)"[^>]*>\s*\S+ <span class="state-count">(\d+)</span>', html))
    assert counts == {"draft": "2", "submitted": "1", "accepted": "0", "returned": "1"}
    assert re.search(r'全部 <span class="state-count">4</span>', html)
    assert re.search(r'href="/activities/\?q=%E5%9F%B9%E8%AE%AD&amp;state=returned"', html)
    assert len(row_ids(html)) == 2


def test_highlights_carry_the_publicity_badge(app, client, login_as):
    build_activity("jinan-zj", "优秀宣传", kind="publicity", state=ActivityState.ACCEPTED, is_highlight=True)
    build_activity("jinan-zj", "普通培训")
    login_as("jinan-zj")
    html = get_list(client).get_data(as_text=True)
    row = re.search(r'<tr id="activity-\d+".*?优秀宣传.*?</tr>', html, re.S).group(0)
    assert "宣传推广" in row and "已采纳" in row
    assert html.count('class="badge badge-highlight"') == 1


def test_rows_link_to_detail_and_show_what_the_user_needs(app, client, login_as):
    activity = build_activity("jinan-zj", "钢筋培训", starts_on=date(2024, 9, 3), ends_on=date(2024, 9, 5),
                             participants=120, state=ActivityState.SUBMITTED)
    login_as("province")
    html = get_list(client).get_data(as_text=True)
    row = re.search(rf'<tr id="activity-{activity.id}".*?</tr>', html, re.S).group(0)
    assert f'href="/activities/{activity.id}"' in row
    for text in ("钢筋培训", "培训宣贯", "济南市住房和城乡建设局", "9月3日—9月5日", "120", "已报送"):
        assert text in row
    assert 'data-label="活动名称"' in row and 'data-label="状态"' in row

    login_as("jinan-zj")
    assert '<a class="button button-primary" href="/activities/new">登记活动</a>' in get_list(client).get_data(as_text=True)


def test_province_registers_its_own_activities_too(app, client, login_as):
    login_as("province")
    html = get_list(client).get_data(as_text=True)
    assert 'href="/activities/new"' in html
    assert "各单位尚未登记活动。" in html


def test_pages_of_twenty_with_total_and_page_links(app, client, login_as):
    for number in range(45):
        build_activity("jinan-zj", f"活动{number:02d}", updated_at=BASE_TIME + timedelta(minutes=number))
    login_as("jinan-zj")
    html = get_list(client).get_data(as_text=True)
    assert len(row_ids(html)) == 20
    assert "共 <strong>45</strong> 条，第 1–20 条" in html
    assert titles_of(html)[0] == "活动44"  # newest first
    assert 'href="/activities/?page=3"' in html
    html = get_list(client, "?page=3").get_data(as_text=True)
    assert titles_of(html) == ["活动04", "活动03", "活动02", "活动01", "活动00"]
    assert "第 41–45 条" in html
    # A page past the end shows the last page rather than nothing.
    assert titles_of(get_list(client, "?page=99").get_data(as_text=True))[-1] == "活动00"


@pytest.mark.parametrize("sort, expected", [
    ("-updated", ["丙", "乙", "甲"]),
    ("starts", ["乙", "甲", "丙"]),
    ("-starts", ["丙", "甲", "乙"]),
    ("title", ["丙", "乙", "甲"]),  # by code point, as the database compares
    ("state", ["甲", "丙", "乙"]),
])
def test_sort_orders(app, client, login_as, sort, expected):
    build_activity("jinan-zj", "甲", starts_on=date(2024, 9, 10), state=ActivityState.DRAFT,
                  updated_at=BASE_TIME)
    build_activity("jinan-zj", "乙", starts_on=date(2024, 9, 2), state=ActivityState.RETURNED,
                  updated_at=BASE_TIME + timedelta(hours=1))
    build_activity("jinan-zj", "丙", starts_on=date(2024, 9, 20), state=ActivityState.SUBMITTED,
                  updated_at=BASE_TIME + timedelta(hours=2))
    login_as("jinan-zj")
    expected_titles = expected if sort != "title" else sorted(expected)
    assert titles_of(get_list(client, f"?sort={sort}").get_data(as_text=True)) == expected_titles


def test_province_sorts_by_unit_in_catalogue_order(app, client, login_as):
    build_activity("qingdao-zj", "青岛")
    build_activity("jinan-zj", "济南")
    build_activity("jinan-jt", "济南交通")
    login_as("province")
    titles = titles_of(get_list(client, "?sort=unit").get_data(as_text=True))
    assert titles.index("济南") < titles.index("青岛")
    assert titles.index("济南交通") < titles.index("青岛")


def test_htmx_request_gets_the_results_fragment_and_the_canonical_url(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训")
    build_activity("jinan-zj", "宣传活动", kind="publicity")
    login_as("jinan-zj")
    response = get_list(client, "?q=钢筋&kind=&task=&date_from=&sort=-updated", htmx=True)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html and 'id="filters"' not in html
    assert titles_of(html) == ["钢筋培训"]
    assert "HX-Request" in response.headers.get("Vary", "")
    assert response.headers["HX-Push-Url"] == "/activities/?q=%E9%92%A2%E7%AD%8B"

    page = get_list(client, "?q=钢筋")
    full = page.get_data(as_text=True)
    assert full.lstrip().lower().startswith("<!doctype html>")
    assert 'id="filters"' in full and 'id="results"' in full
    assert titles_of(full) == ["钢筋培训"]
    assert "HX-Request" in page.headers.get("Vary", "")


def test_history_restore_request_gets_the_full_page(app, client, login_as):
    login_as("jinan-zj")
    response = client.get("/activities/?q=x", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_search_box_and_filters_are_wired_for_htmx(app, client, login_as):
    login_as("jinan-zj")
    html = get_list(client).get_data(as_text=True)
    search = re.search(r'<input type="search"[^>]*>', html, re.S).group(0)
    for attribute in ('name="q"', 'data-hx-get="/activities/"', 'data-hx-trigger="input changed delay:300ms, search"'):
        assert attribute in search
    form = re.search(r'<form id="filters"[^>]*>', html, re.S).group(0)
    for attribute in ('method="get"', 'data-hx-target="#results"', 'data-hx-push-url="true"', 'data-hx-indicator="#list-indicator"'):
        assert attribute in form
    assert 'id="list-indicator"' in html


def test_export_links_carry_the_filters(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训")
    login_as("jinan-zj")
    html = get_list(client, "?q=钢筋&kind=training&page=1&sort=title").get_data(as_text=True)
    assert 'href="/activities/export.xlsx?q=%E9%92%A2%E7%AD%8B&amp;kind=training&amp;sort=title"' in html
    assert 'href="/activities/export.csv?q=%E9%92%A2%E7%AD%8B&amp;kind=training&amp;sort=title"' in html
    assert 'hx-get="/activities/export' not in html


@pytest.mark.parametrize("query", [
    "?kind=nonsense", "?page=abc", "?page=-3", "?page=99999999999999999999999", "?date_from=2024-13-45",
    "?date_to=yesterday", "?task=x", "?task=999", "?state=lost", "?sort=drop table", "?unit=nowhere",
    "?city=火星", "?q=" + "长" * 500, "?q=%00%27%22", "?page=１", "?kind=training&kind=publicity",
])
def test_bad_parameters_are_ignored_never_an_error(app, client, login_as, query):
    build_activity("jinan-zj", "钢筋培训")
    login_as("province")
    for htmx in (False, True):
        response = client.get(f"/activities/{query}", headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code == 200, query
        if "q=" not in query:  # a search that matches nothing rightly lists nothing
            assert "钢筋培训" in response.get_data(as_text=True), query


def test_unknown_filter_values_show_the_whole_list(app, client, login_as):
    build_activity("jinan-zj", "钢筋培训")
    build_activity("jinan-zj", "宣传活动", kind="publicity")
    login_as("jinan-zj")
    html = get_list(client, "?kind=nonsense&state=lost&task=999&page=abc").get_data(as_text=True)
    assert len(row_ids(html)) == 2


def test_empty_lists_say_why(app, client, login_as):
    login_as("qingdao-zj")
    assert "本单位还没有登记活动。" in get_list(client).get_data(as_text=True)
    login_as("jinan-zj")  # a city bureau with counties below it
    assert "本单位及下级单位尚未登记活动。" in get_list(client).get_data(as_text=True)
    build_activity("jinan-zj", "钢筋培训")
    assert "没有符合条件的活动。" in get_list(client, "?q=不存在").get_data(as_text=True)


def test_list_needs_a_login(client):
    response = client.get("/activities/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_page_uses_few_queries(app, client, login_as):
    """Rows come with their unit, and find their kind among the filters' (no query per row): the
    number of queries does not grow with the page."""
    from sqlalchemy import event

    kinds = ("training", "site_tour", "publicity")
    for number in range(25):
        build_activity("jinan-zj" if number % 2 else "qingdao-zj", f"活动{number}", kind=kinds[number % 3])
    login_as("province")
    statements = []

    def count(_connection, _cursor, statement, *_args):
        if statement != "BEGIN":  # SQLite's explicit BEGIN (qmonth/__init__.py) is no query
            statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        get_list(client)
        few = len(statements)
        statements.clear()
        get_list(client, "?page=2")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # user, its unit (whose path scopes the queries), whether units lie below it, campaign, units,
    # kinds, tasks, counts, rows
    assert few <= 9
    assert len(statements) <= few


def test_filters_folded_on_a_phone_open_when_one_is_set(app, client, login_as):
    login_as("jinan-zj")
    toggle = r'<input type="checkbox" id="more-filters"[^>]*>'
    assert "checked" not in re.search(toggle, get_list(client, "?q=培训").get_data(as_text=True)).group(0)
    assert "checked" in re.search(toggle, get_list(client, "?kind=training").get_data(as_text=True)).group(0)


def test_chosen_state_travels_with_the_filter_form(app, client, login_as):
    login_as("jinan-zj")
    html = get_list(client, "?state=returned", htmx=True).get_data(as_text=True)
    assert '<input type="hidden" id="results-state" name="state" value="returned">' in html
    page = get_list(client).get_data(as_text=True)
    assert 'data-hx-include="#filters, #results-state"' in page


def test_a_search_with_more_matches_than_it_counts_says_so(app, client, login_as, monkeypatch):
    """Past the cap a search stops counting: 「超过 N 条」, no figures per state, the first pages."""
    from qmonth.activities import listing

    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 20)
    for number in range(25):
        build_activity("jinan-zj", f"培训班第{number}期", updated_at=BASE_TIME + timedelta(hours=number),
                       state=ActivityState.ACCEPTED if number % 5 == 0 else ActivityState.SUBMITTED)
    build_activity("jinan-zj", "现场观摩会")
    login_as("province")

    page = get_list(client, "?q=培训").get_data(as_text=True)
    assert "符合条件的活动超过 <strong>20</strong> 条，仅列出前 20 条，第 1–20 条。" in page
    assert re.search(r'全部 <span class="state-count">20\+</span>', page)
    assert "已采纳 <span" not in page and "已报送 <span" not in page
    assert titles_of(page) == [f"培训班第{number}期" for number in range(24, 4, -1)]
    assert 'rel="next"' not in page  # one page: the cap is 20

    # Narrowed to a state, the 5 accepted ones are under the cap: counted exactly again.
    accepted = get_list(client, "?q=培训&state=accepted").get_data(as_text=True)
    assert "共 <strong>5</strong> 条" in accepted
    assert titles_of(accepted) == [f"培训班第{number}期" for number in (20, 15, 10, 5, 0)]

    # Under the cap nothing changes: exact counts per state.
    exact = get_list(client, "?q=观摩").get_data(as_text=True)
    assert "共 <strong>1</strong> 条" in exact and "超过" not in exact


@pytest.mark.postgresql_only("PostgreSQL's statistics of its pieces index")
def test_postgresql_counts_a_common_term_by_reading_rows_with_the_same_answer(app, client, login_as, monkeypatch):
    """A term PostgreSQL's statistics find in a large share of every entry is counted by reading
    rows for the root, not through the pieces index: the same capped answer, the same pages and
    tabs; a term that turns out rarer than the cap in the rows read, or a rare one, is counted
    through the index, exactly."""
    from qmonth.activities import listing, pgsearch

    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 20)
    monkeypatch.setattr(listing, "INDEX_ENTRIES_PER_ROW_READ", 1)  # 66 entries are few: read as if a million
    for number in range(66):
        title = f"质量培训班第{number}期" if number % 3 else f"现场观摩会第{number}期"
        build_activity(["jinan-zj", "qingdao-zj", "jinan-lixia-zj"][number % 3], title,
                       updated_at=BASE_TIME + timedelta(hours=number),
                       state=ActivityState.ACCEPTED if number % 4 == 0 else ActivityState.SUBMITTED)
    db.session.execute(db.text("ANALYZE activity"))
    db.session.commit()
    login_as("province")
    province = db.session.scalar(select(User).where(User.username == "province"))

    def answer(query: str) -> tuple[str, list[str]]:
        page = get_list(client, query).get_data(as_text=True)
        summary = re.search(r'<p class="results-summary" id="results-summary">(.*?)</p>', page, re.S).group(1)
        tabs = re.findall(r'class="state-count">([^<]+)<', page)
        return " ".join(re.sub("<[^>]+>", "", summary).split()) + " " + "/".join(tabs), titles_of(page)

    read_rows = []
    original = listing._read_matches
    monkeypatch.setattr(listing, "_read_matches", lambda *args: read_rows.append(1) or original(*args))
    shares, _ = pgsearch.piece_shares()
    assert 0.5 < shares["培训"] < 0.8 and "培训" in pgsearch.term_pieces("培训")
    for query in ["?q=培训", "?q=培训&page=2", "?q=质量", "?q=培训&state=accepted", "?q=第1期"]:
        filters = listing.ListFilters.from_args(dict(pair.split("=") for pair in query[1:].split("&")), province)
        reads = listing._counts_by_reading(province, filters)
        assert reads == (query.startswith(("?q=培训", "?q=质量"))), query
        read_rows.clear()
        by_reading = answer(query)
        with monkeypatch.context() as by_index:
            by_index.setattr(listing, "_counts_by_reading", lambda *args: False)
            assert by_reading == answer(query), query
        assert len(read_rows) == (1 if reads else 0), query
    assert answer("?q=培训")[0].startswith("符合条件的活动超过 20 条") and len(answer("?q=培训")[1]) == 20

    # What reading found: one past the cap, each a match, under its own state.
    found = listing._read_matches(province, listing.ListFilters.from_args({"q": "培训"}, province))
    entries = {activity.id: activity for activity in db.session.scalars(select(Activity))}
    assert sum(len(ids) for ids in found.values()) == 21
    assert all("培训" in entries[id_].title and entries[id_].state == state for state, ids in found.items() for id_ in ids)

    # Fewer matches than the cap among the rows read: counted through the index, exactly.
    monkeypatch.setattr(listing, "SCAN_ROWS", 10)
    assert listing._read_matches(province, listing.ListFilters.from_args({"q": "培训"}, province)) is None
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 1000)
    summary, titles = answer("?q=培训")
    assert summary.startswith("共 44 条") and len(titles) == 20
    # A city's admin, below the root, always counts through the index.
    city = db.session.scalar(select(User).where(User.username == "jinan-zj-admin"))
    assert not listing._counts_by_reading(city, listing.ListFilters.from_args({"q": "培训"}, city))
