"""The activity list: filters parsed from the URL, the scoped query, counts and pages.

Every query here starts from the user's scope (visible_activities(user), or
scoped_to_units on the same rule), so a bureau's list, counts and exports can only
ever hold its own entries.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, replace
from functools import cached_property
from datetime import date

from sqlalchemy import (Integer, Row, Select, Text, and_, any_, case, column, func, literal, or_, select, table, true)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import contains_eager, joinedload, load_only

from ..extensions import db
from ..campaigns.services import active_campaign
from ..models import Activity, ActivityKind, ActivityState, ActivityTally, Campaign, Task, Unit, User
from ..paging import Page, page_number
from ..parsing import day_or_none, positive_int, year_window
from ..textnorm import search_text
from ..access import (scoped_to_units, sees_unit, sees_units_below, sees_whole_tree, subtree_unit_ids,
                      visible_activities)
from . import pgsearch
from .pgsearch import SEARCHED_KEYS, has_no_case, pieces_of_term_present, subtree_key, unit_key
from ..units import UNIT_CODE_MAX, UNIT_CODE_PATTERN, subtree_ids

PAGE_SIZE = 20
SEARCH_READS_ROWS_FROM = 25  # when a search's page reads rows instead of its matches: see paginate
SEARCH_COUNT_CAP = 1000  # a search counts its matches up to here: see state_counts
QUERY_MAX = 100
# How many levels below the user's own the unit filter lists: a province's cities and counties.
# A ministry's root would otherwise list the nation's 5,500 units on every page (200 ms of CPU);
# deeper units are still reached by code, as a board's links name them.
FILTER_LEVELS = 2
DEFAULT_SORT = "-updated"

# Workflow order, so "sort by state" reads 草稿 → 已报送 → 已采纳 → 已退回.
STATE_ORDER = {state: position for position, state in enumerate(ActivityState)}

SORT_LABELS = {
    "-updated": "最近更新",
    "-starts": "开始日期（新→旧）",
    "starts": "开始日期（旧→新）",
    "title": "活动名称",
    "unit": "单位",
    "state": "状态",
}


def _sort_columns(sort: str) -> list:
    """ORDER BY for a sort key; the id comes last so pages never overlap."""
    state_rank = case(*((Activity.state == state, rank) for state, rank in STATE_ORDER.items()))
    columns = {
        "-updated": [Activity.updated_at.desc()],
        "-starts": [Activity.starts_on.desc().nulls_last()],
        "starts": [Activity.starts_on.asc().nulls_last()],
        "title": [Activity.title.asc()],
        "unit": [Unit.position.asc(), Activity.updated_at.desc()],
        "state": [state_rank, Activity.updated_at.desc()],
    }[sort]
    return [*columns, Activity.id.desc()]


@dataclass
class FilterChoices:
    """What the filter controls offer; also what a URL value is checked against."""

    kinds: list[ActivityKind]
    campaign: Campaign
    user: User | None = None  # whose units the unit and city filters offer

    @cached_property
    def tasks(self) -> list[Task]:
        """The campaign's tasks, read on first use: a search's htmx answer shows no filter
        controls and, with no task in its URL, never needs them."""
        return list(self.campaign.tasks)

    @cached_property
    def units_by_city(self) -> dict[str, list[Row]]:
        """The units `FILTER_LEVELS` below the user's, by city (none for a user without units below),
        read on first use: a search's htmx answer shows no filter controls and, with no unit or city
        in its URL, never reads them (177 units for a province of the synthetic nation). Rows of the
        four columns the options show, not Unit objects: for those 177 units 1.5-2 ms, not 5-7 ms."""
        units_by_city: dict[str, list[Row]] = {}
        if self.user is not None and sees_units_below(self.user):
            deepest = (self.user.unit.depth if self.user.unit is not None else 0) + FILTER_LEVELS
            units = (scoped_to_units(select(Unit.id, Unit.code, Unit.name, Unit.city), self.user, Unit.id)
                     .where(Unit.depth <= deepest).order_by(Unit.depth, Unit.position, Unit.id))
            for unit in db.session.execute(units):
                units_by_city.setdefault(unit.city, []).append(unit)
        return units_by_city

    @cached_property
    def units_by_code(self) -> dict[str, Row]:
        return {unit.code: unit for units in self.units_by_city.values() for unit in units}

    @property
    def cities(self) -> list[str]:
        return list(self.units_by_city)

    @classmethod
    def for_user(cls, user: User, campaign: Campaign) -> FilterChoices:
        """Kinds and tasks of the campaign; cities and units only for a user with units below them."""
        return cls(kinds=list(campaign.kinds), campaign=campaign, user=user)


@dataclass(frozen=True)
class ListFilters:
    """The list's filters, as they appear in the URL. Unknown values are dropped, never errors."""

    campaign_id: int
    q: str = ""
    kind: ActivityKind | None = None
    task: int | None = None
    state: ActivityState | None = None
    city: str = ""
    unit: Unit | None = None
    under: Unit | None = None  # every unit below this one (a board's rows and theirs; see qmonth/board)
    subtree: Unit | None = None  # this unit and every unit below it (one board row's figures)
    date_from: date | None = None
    date_to: date | None = None
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_args(cls, args, user: User, campaign: Campaign | None = None,
                  choices: FilterChoices | None = None) -> ListFilters:
        """Read the filters from request args; values the user may not use are ignored."""
        campaign = campaign or active_campaign()
        choices = choices or FilterChoices.for_user(user, campaign)
        kinds = {kind.code: kind for kind in choices.kinds}

        def unit_named(code: str | None) -> Unit | None:
            """A unit the filter offers, or one deeper in the user's subtree (a board's link)."""
            if not code:
                return None
            offered = choices.units_by_code.get(code)
            if offered is not None:
                return db.session.get(Unit, offered.id)
            if not choices.units_by_city or len(code) > UNIT_CODE_MAX or not UNIT_CODE_PATTERN.match(code):
                return None
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            return unit if unit is not None and sees_unit(user, unit.id) else None

        task = positive_int(args.get("task"))
        state = next((s for s in ActivityState if s.value == args.get("state")), None)
        earliest, latest = year_window(campaign.year)
        date_from, date_to = (day_or_none(args.get(name), earliest, latest) for name in ("date_from", "date_to"))
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        sort = args.get("sort", DEFAULT_SORT)
        city = (args.get("city") or "").strip()
        return cls(
            campaign_id=campaign.id,
            q=search_text(args.get("q"), QUERY_MAX),
            kind=kinds.get(args.get("kind", "")),
            task=task if task is not None and task in {known.number for known in choices.tasks} else None,
            state=state,
            city=city if city and city in choices.cities else "",
            unit=unit_named(args.get("unit")),
            under=unit_named(args.get("under")),
            subtree=unit_named(args.get("subtree")),
            date_from=date_from,
            date_to=date_to,
            sort=sort if sort in SORT_LABELS else DEFAULT_SORT,
            page=positive_int(args.get("page")) or 1,
        )

    def to_args(self, **changes) -> dict:
        """URL parameters for these filters (defaults left out), with `changes` applied."""
        values = {
            "q": self.q,
            "kind": self.kind.code if self.kind else "",
            "task": self.task or "",
            "state": self.state.value if self.state else "",
            "city": self.city,
            "unit": self.unit.code if self.unit else "",
            "under": self.under.code if self.under else "",
            "subtree": self.subtree.code if self.subtree else "",
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None)}

    @property
    def is_filtered(self) -> bool:
        """True when anything narrows the list (sort and page do not)."""
        return bool(self.to_args(sort="", page=""))

    @property
    def has_more(self) -> bool:
        """True when a filter other than the search box and the state is set, or a sort."""
        return bool(self.to_args(q="", state="", page=""))

    def without_page(self) -> ListFilters:
        return replace(self, page=1)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Short columns first: when LIKE scans, OR stops at the first column that matches.
SEARCHED_COLUMNS = tuple(getattr(Activity, key) for key in SEARCHED_KEYS)

# SQLite's trigram index of the searched columns, one text per activity, and its
# vocabulary: virtual tables that migration 58dc9899ac75 creates with the triggers
# that keep them current. Not models, since PostgreSQL has neither.
SEARCH_INDEX = table("activity_search", column("rowid", Integer), column("body", Text))
SEARCH_INDEX_TERMS = table("activity_search_terms", column("term", Text))
# The index holds lower(text), which folds ASCII letters only, exactly as LIKE compares.
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
LAST_CHARACTER = chr(0x10FFFF)


def _quoted(text: str) -> str:
    """An FTS5 string: the text taken literally, whatever characters it holds."""
    return '"' + text.replace('"', '""') + '"'


def _indexed_mentions(term: str):
    """Activities whose title, place or description contain the term, found in the trigram index."""
    folded = term.translate(ASCII_LOWER)
    if len(folded) >= 3:
        match = _quoted(folded)
    else:
        # Too short to be a trigram: look for any trigram that begins with it. The index
        # pads every field, so a term at the end of a field begins a trigram too.
        term_column = SEARCH_INDEX_TERMS.c.term
        quoted = '"' + func.replace(term_column, '"', '""', type_=Text) + '"'
        match = (
            select(func.coalesce(func.group_concat(quoted, " OR "), '""'))
            .where(term_column >= folded, term_column <= folded + LAST_CHARACTER * 2)
            .scalar_subquery()
        )
    return Activity.id.in_(select(SEARCH_INDEX.c.rowid).where(SEARCH_INDEX.c.body.match(match)))


def _mentions(term: str, *, read_rows: bool = False):
    """Title, place or description contains the term, ignoring the case of letters.

    SQLite looks the term up in the trigram index, unless `read_rows` asks for each row
    read to be tested instead, or the term is a single character (it begins too many
    trigrams to look up, and most rows hold it) or has a control character (the index
    pads its fields with one). PostgreSQL looks the term's pieces up in its index, then tests
    the rows found: a plain substring test when the term has no case (see CASELESS_CATEGORIES),
    else ILIKE.
    """
    pattern = f"%{_escape_like(term)}%"
    if db.session.get_bind().dialect.name != "sqlite":
        if has_no_case(term):
            # strpos finds the rows LIKE '%term%' finds, sooner: the root's count of 培训 among a
            # million activities reads 8,339 rows in 8-9 ms instead of 10-11.
            tested = or_(*(func.strpos(searched, term) > 0 for searched in SEARCHED_COLUMNS))
        else:
            tested = or_(*(searched.ilike(pattern, escape="\\") for searched in SEARCHED_COLUMNS))
        return tested if read_rows else and_(pieces_of_term_present(term), tested)
    if not read_rows and len(term) >= 2 and term.isprintable():
        return _indexed_mentions(term)
    # SQLite's LIKE already ignores ASCII case; ilike() there wraps both sides in lower(),
    # which copies every description and makes the scan about 40% slower.
    return or_(*(searched.like(pattern, escape="\\") for searched in SEARCHED_COLUMNS))


# A middle node's subtree spelled out as ids for a PostgreSQL search, up to this many units.
SUBTREE_IDS_MAX = 5000


def _subtree_as_ids(user: User) -> list:
    """The user's subtree again, as `unit_id = ANY(ids)`, for a search that reads rows (see
    `_narrowed`): nothing for a unit without units below (its one equality already says it), the
    root (its subtree is everything) or a subtree too large to spell out."""
    ids = spelled_subtree(user)
    return [] if ids is None else [Activity.unit_id == any_(literal(ids, ARRAY(Integer)))]


# A subtree holding more than this share of the campaign's entries is not looked up by its key.
SUBTREE_KEY_SHARE_MAX = 0.05


def _units_among_keys(user: User, filters: ListFilters) -> list:
    """The units searched, as keys of PostgreSQL's search index (see pgsearch.SEARCH_KEYS): a condition on
    top of the scope, which changes no result. The term's entries and the units' are then read from
    the one index, which walks the shorter list and skips through the longer; with the units from
    another index, PostgreSQL first read every entry of the term in the whole campaign (培训 among a
    million activities, for one bureau's 17,544: 124,852 entries and 34 ms; about 2,200 through
    the key). A unit picked in the filters, or a user's own unit with none below: its own key. A
    middle node: the key of its subtree when PostgreSQL's statistics say the subtree is a small
    part of the campaign (a province of 177 units in the synthetic nation: 7.6 -> 0.9 ms, where one
    key per unit had GIN find the smallest of 177 lists for each entry); a large part (a city with
    a quarter of a million entries) walks a long list for any term (第999953期: 7 ms for each
    lookup), so its units' own keys are used instead, any of them. The root: nothing. Nor a term
    the statistics say is rare: its few entries are found by its pieces alone, and the units' lists
    would only add their length (第999953期 in that city: 8.1 -> 4.5 ms with its units' keys left out)."""
    if pgsearch.is_rare(filters.q):
        return []
    if filters.unit is not None:
        return [pgsearch.holds_keys(unit_key(filters.unit.id))]
    if user.unit_id is None or sees_whole_tree(user):
        return []
    if not sees_units_below(user):
        return [pgsearch.holds_keys(unit_key(user.unit_id))]
    if pgsearch.piece_shares()[0].get(subtree_key(user.unit_id), 0.0) <= SUBTREE_KEY_SHARE_MAX:
        return [pgsearch.holds_keys(subtree_key(user.unit_id))]
    ids = spelled_subtree(user)
    return [] if ids is None else [pgsearch.holds_any_key([unit_key(id_) for id_ in ids])]


def spelled_subtree(user: User) -> list[int] | None:
    """The ids of a middle node's subtree (see `_subtree_as_ids`), read once per request."""
    if user.unit is None or sees_whole_tree(user):
        return None
    ids = subtree_unit_ids(user, SUBTREE_IDS_MAX)
    return ids if ids is not None and len(ids) > 1 else None


def _narrowed(user: User, filters: ListFilters, *, with_state: bool = True,
              read_rows: bool = False, searched_unit=None, counting: bool = False) -> Select:
    """The scoped activities matching the filters (optionally ignoring the state); `searched_unit`:
    a column naming the one unit whose entries a PostgreSQL search looks up (see `_matches`);
    `counting`: for the search's count, whose rows are read in no order."""
    on_sqlite = db.session.get_bind().dialect.name == "sqlite"
    if on_sqlite:
        # One unit's entries are few: testing each of them costs less than looking the
        # term up in SQLite's index of the whole province's (PostgreSQL combines both indexes).
        read_rows = read_rows or not sees_units_below(user) or filters.unit is not None
    mentions = [_mentions(term, read_rows=read_rows) for term in filters.q.split()]
    looked_up = mentions and not on_sqlite and not read_rows and searched_unit is None
    keys = _units_among_keys(user, filters) if looked_up else []
    unit_id = Activity.unit_id
    if keys and counting:
        # The units' keys already narrow the count's index scan to the scope and the unit filters,
        # which are then tested on the rows found; on a plain unit_id the planner also read the unit
        # index and ANDed both (a county's 培训 among a million activities: its 17,542 entries,
        # 2.2 ms for nothing). The page keeps the plain column: its order comes from that index.
        unit_id = Activity.unit_id + 0
    query = scoped_to_units(select(Activity), user, unit_id).where(Activity.campaign_id == filters.campaign_id)
    if mentions and not on_sqlite and searched_unit is not None:
        query = query.where(pgsearch.holds_unit_key_of(searched_unit))
    elif looked_up:
        query = query.where(*keys)
    elif mentions and not on_sqlite and (in_subtree := _subtree_as_ids(user)):
        # Reading the newest rows of the whole campaign, PostgreSQL tests the cheaper-looking
        # ILIKE before the unit (a province's search read 4,600 of the nation's rows through
        # ILIKE to keep 20 of its own): CASE tests the unit first, and ILIKE on its rows only.
        mentions = [case((in_subtree[0], and_(*mentions)), else_=False)]
    query = query.where(*mentions)
    if read_rows and user.unit_id is not None and filters.unit is None and not sees_units_below(user):
        # The one unit said as an equality, which the scope's subquery is not: its newest rows are
        # then read from its own index (ix_activity_campaign_unit_updated), not the campaign's (a
        # county among a million activities read 9,738 rows to show its 20: 24 -> 0.3 ms).
        query = query.where(Activity.unit_id == user.unit_id)
    if filters.kind is not None:
        query = query.where(Activity.kind_id == filters.kind.id)
    if filters.task is not None:
        query = query.where(Activity.tasks.any(
            (Task.number == filters.task) & (Task.campaign_id == filters.campaign_id)))
    if with_state and filters.state is not None:
        query = query.where(Activity.state == filters.state)
    query = query.where(*_unit_conditions(unit_id, filters))
    # An activity is in the range when its days overlap it; undated drafts are not.
    if filters.date_from is not None:
        query = query.where(func.coalesce(Activity.ends_on, Activity.starts_on) >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(Activity.starts_on <= filters.date_to)
    return query


def _unit_conditions(unit_id, filters: ListFilters) -> list:
    """The filters that pick units (one unit, a board's rows, a city), on the column `unit_id`."""
    conditions = []
    if filters.unit is not None:
        conditions.append(unit_id == filters.unit.id)
    if filters.under is not None:
        # What a board's chips count: its rows' subtrees, i.e. everything below the board's unit.
        conditions.append(unit_id.in_(
            select(Unit.id).where(Unit.path.like(f"{filters.under.path}%"), Unit.id != filters.under.id)))
    if filters.subtree is not None:
        # What one board row counts: its unit's own entries and its subtree's.
        conditions.append(unit_id.in_(subtree_ids(filters.subtree)))
    if filters.city:
        conditions.append(unit_id.in_(select(Unit.id).where(Unit.city == filters.city)))
    return conditions


def _ordered(query: Select, sort: str) -> Select:
    if sort == "unit":
        query = query.join(Activity.unit)
    return query.order_by(*_sort_columns(sort))


def filtered_activities(user: User, filters: ListFilters) -> Select:
    """The filtered, sorted activities (no paging), with what a row shows loaded eagerly."""
    return (
        _narrowed(user, filters)
        .join(Activity.unit)
        .options(contains_eager(Activity.unit), joinedload(Activity.kind))
        .order_by(*_sort_columns(filters.sort))
    )


def state_counts(user: User, filters: ListFilters) -> dict[ActivityState, int] | None:
    """Entries per state under every filter but the state one, in one aggregate query.

    A search counts its matches only up to SEARCH_COUNT_CAP: counting every activity that
    holds 培训 among a million takes longer than the person typing will wait, and a number
    past a thousand tells them only to narrow the search. None when the cap is passed.
    """
    if filters.q:
        return _counts_of(_search_matches(user, filters))
    if _tally_answers(filters):
        return _tallied_counts(user, filters)
    # count(...) FILTER per state rather than GROUP BY state: grouping steers SQLite onto
    # the state index and, during a search, into reading rows in random order (slower).
    states = list(ActivityState)
    query = _narrowed(user, filters, with_state=False).with_only_columns(
        *(func.count(Activity.id).filter(Activity.state == state) for state in states))
    return dict(zip(states, db.session.execute(query).one()))


def _tally_answers(filters: ListFilters) -> bool:
    """Whether the filters name only units (or none): the tally (ActivityTally) has the counts."""
    return filters.kind is None and filters.task is None and filters.date_from is None and filters.date_to is None


def _tallied_counts(user: User, filters: ListFilters) -> dict[ActivityState, int]:
    """Entries per state summed from the tally over the viewer's units: a few rows per unit
    rather than every activity (the same numbers, kept by triggers on activity)."""
    query = scoped_to_units(select(ActivityTally.state, func.sum(ActivityTally.count)), user, ActivityTally.unit_id)
    query = query.where(ActivityTally.campaign_id == filters.campaign_id)
    query = query.where(*_unit_conditions(ActivityTally.unit_id, filters))
    counts = dict(db.session.execute(query.group_by(ActivityTally.state)).all())
    return {state: int(counts.get(state) or 0) for state in ActivityState}


def _search_matches(user: User, filters: ListFilters) -> dict[ActivityState, list[int]]:
    """The search's first matches in every state, by state: up to one past SEARCH_COUNT_CAP, so
    that more than the cap means the count stopped there. The database groups them and sends one
    row per state with its ids as text: 1,001 rows of (id, state) cost 2.8 ms of the app's CPU to
    receive (a state object made per row), four rows a tenth of that. The ids come along for
    little more than counting them costs, and when the count read every match they give the
    page (see `_page_among_matches`)."""
    if _counts_by_reading(user, filters) and (matches := _read_matches(user, filters)) is not None:
        return matches
    return _by_state(_matches(user, filters, with_state=False))


# A middle node of at most this many units searches them one after another (see `_matches`).
UNIT_BY_UNIT_MAX = 64


def _matches(user: User, filters: ListFilters, *, with_state: bool) -> Select:
    """(id, state) of the search's matches, for a count that stops at the cap. A middle node's
    search for a common term (SCAN_SHARE_MIN) on PostgreSQL, with at most UNIT_BY_UNIT_MAX units,
    looks its units up one after another, each with the term in the index (one small intersection
    each), and PostgreSQL stops at the cap: looked up all at once, the index hands over every
    match of the subtree before the first row is read (培训 in a city of 13 units holding 228,000 of
    a million activities: 28,197 entries, 24 ms; unit by unit its own 2,219 reach the cap, 3.5 ms).
    A rare term is looked up all at once: every unit's lookup would walk its pieces' long lists
    again (第999953期 in the same city: 4 ms a unit, 10 ms all at once)."""
    unit_by_unit = (filters.q and filters.unit is None and db.session.get_bind().dialect.name == "postgresql"
                    and (ids := spelled_subtree(user)) is not None and len(ids) <= UNIT_BY_UNIT_MAX
                    and pgsearch.estimated_share(filters.q) >= SCAN_SHARE_MIN)
    if not unit_by_unit:
        return (_narrowed(user, filters, with_state=with_state, counting=True)
                .with_only_columns(Activity.id, Activity.state))
    units = func.unnest(literal(ids, ARRAY(Integer))).table_valued("unit_id").render_derived()
    per_unit = (_narrowed(user, filters, with_state=with_state, searched_unit=units.c.unit_id)
                .with_only_columns(Activity.id, Activity.state).lateral())
    return select(per_unit.c.id, per_unit.c.state).select_from(units).join(per_unit, true())


def _by_state(matches: Select) -> dict[ActivityState, list[int]]:
    """The first matches (up to one past the cap) of a query of (id, state), grouped by state in
    the database: one row per state, its ids as text."""
    first = matches.limit(SEARCH_COUNT_CAP + 1).subquery()
    per_state = select(first.c.state, func.aggregate_strings(first.c.id.cast(Text), ",")).group_by(first.c.state)
    return {state: [int(id_) for id_ in ids.split(",")] for state, ids in db.session.execute(per_state)}


# A term in a large share of the whole campaign's entries (质量, 质, 培训 in one entry of eight) is
# counted by reading rows in the table's order rather than through the pieces index: the index
# hands PostgreSQL every entry that holds it (125,000 of a million for 培训: 19 ms), which it then
# sorts by page (16 ms) before reading the few it needs. Reading finds the cap's 1,001 matches
# within about 1,001 / share rows. Only for a viewer who sees the whole campaign with no other
# filter (elsewhere the index narrows to the subtree first), when PostgreSQL's statistics say the
# term is that common, and at most SCAN_ROWS rows: fewer matches than the cap there, and the
# index counts them as before. Reading a row costs about as much as 8 of the index's entries
# (1.6-2.7 µs against 0.3): at a million activities 培训 reads 8,339 rows in 13.8 ms where the
# index took 38-47 ms, but in 300,000 the index's 37,509 entries (18 ms) beat reading (22-24 ms).
SCAN_SHARE_MIN = 0.05
INDEX_ENTRIES_PER_ROW_READ = 8
SCAN_ROWS = round(SEARCH_COUNT_CAP / SCAN_SHARE_MIN)
def _counts_by_reading(user: User, filters: ListFilters) -> bool:
    """Whether the search's count reads rows instead of using the index: see SCAN_SHARE_MIN."""
    if db.session.get_bind().dialect.name != "postgresql" or not sees_whole_tree(user):
        return False
    if filters.to_args(q="", state="", sort="", page=""):  # another filter than the search
        return False
    share, rows = pgsearch.estimated_share(filters.q), pgsearch.piece_shares()[1]
    rows_to_read = (SEARCH_COUNT_CAP + 1) / share if share else float("inf")
    return share >= SCAN_SHARE_MIN and share * rows >= INDEX_ENTRIES_PER_ROW_READ * rows_to_read


def _read_matches(user: User, filters: ListFilters) -> dict[ActivityState, list[int]] | None:
    """The search's first matches by state as `_search_matches` gives them, found by reading at
    most SCAN_ROWS of the viewer's entries in the table's order and testing each; None when
    fewer than the cap's matches were found there (the index must count them)."""
    everything = _narrowed(user, replace(filters, q=""), with_state=False)
    hit = and_(*(_mentions(term, read_rows=True) for term in filters.q.split()))
    read = everything.with_only_columns(Activity.id, Activity.state, hit.label("hit")).limit(SCAN_ROWS).subquery()
    matches = _by_state(select(read.c.id, read.c.state).where(read.c.hit))
    return matches if _match_count(matches) > SEARCH_COUNT_CAP else None


def _match_count(matches: dict[ActivityState, list[int]]) -> int:
    return sum(len(ids) for ids in matches.values())


def _page_among_matches(filters: ListFilters, matches: dict[ActivityState, list[int]], total: int):
    """The page's ids when the search's count read every match (no more than the cap): all of them
    when they fit on one page, else the page picked from them by id in the list's order rather than
    searching a second time. Not sorted by the count itself: a term in most of a province's entries
    (第) would then be read whole, where the count stops at the cap. None past the cap: the page
    is searched for, as the count stopped before the last match."""
    if _match_count(matches) > SEARCH_COUNT_CAP:
        return None
    ids = matches.get(filters.state, []) if filters.state else [id_ for ids in matches.values() for id_ in ids]
    if total <= PAGE_SIZE:
        return ids
    number = page_number(filters.page, total, PAGE_SIZE)
    return (_ordered(select(Activity.id).where(Activity.id.in_(ids)), filters.sort)
            .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE).scalar_subquery())


def _counts_of(matches: dict[ActivityState, list[int]]) -> dict[ActivityState, int] | None:
    if _match_count(matches) > SEARCH_COUNT_CAP:
        return None
    return {state: len(matches.get(state, ())) for state in ActivityState}


def _capped_total(user: User, filters: ListFilters) -> int:
    """How many match the filters, state included, counted up to one past SEARCH_COUNT_CAP."""
    matches = _matches(user, filters, with_state=True).limit(SEARCH_COUNT_CAP + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(matches))


# What _row.html shows. Other columns (long texts, figures) are not loaded for the list,
# and reading one there raises instead of quietly costing a query per row.
ROW_COLUMNS = (
    Activity.title, Activity.kind_id, Activity.unit_id, Activity.starts_on, Activity.ends_on,
    Activity.participants, Activity.state, Activity.is_highlight, Activity.return_reason,
    Activity.updated_at, Activity.arrived_late,
)


def paginate(user: User, filters: ListFilters, total: int, size: int = PAGE_SIZE,
             ids: list[int] | Select | None = None) -> Page:
    """One page of the filtered list; a page past the end shows the last one. `ids`: the page's
    ids (a list or a subquery) from the search's count (see `_page_among_matches`), so the page
    is read by id instead of searching again."""
    number = page_number(filters.page, total, size)
    if not total:
        return Page(items=[], number=1, total=0, size=size)
    if ids is not None:
        # The state again: on PostgreSQL an entry reviewed since the count must not show under the old tab.
        state = [Activity.state == filters.state] if filters.state else []
        return Page(items=_page_rows(user, filters, ids, *state), number=number, total=total, size=size)
    # A search that matches many entries finds its page sooner by reading the newest rows
    # in index order and testing each than by looking every match up and sorting them all:
    # when the matches are SEARCH_READS_ROWS_FROM times the rows up to this page's end, at
    # most one row in SEARCH_READS_ROWS_FROM is read. Only the default order has an index (one
    # unit's rows: see `_narrowed`).
    read_rows = filters.sort == DEFAULT_SORT and total >= SEARCH_READS_ROWS_FROM * number * size
    # Pick the page's ids first, sorting only narrow columns, then load those rows:
    # without a matching index SQLite would otherwise sort every full row to keep twenty.
    page_ids = (
        _ordered(_narrowed(user, filters, read_rows=read_rows).with_only_columns(Activity.id), filters.sort)
        .limit(size).offset((number - 1) * size)
    )
    return Page(items=_page_rows(user, filters, page_ids.scalar_subquery()), number=number, total=total, size=size)


def _page_rows(user: User, filters: ListFilters, page_ids, *conditions) -> list[Activity]:
    """The page's activities (ids: a list or a subquery), in the list's order, still scoped."""
    # Each row's kind is not joined: the filters have loaded the campaign's kinds (ListFilters
    # checks the kind in the URL against them), so `activity.kind` is found in the session
    # without a query, where a joined kind's JSON figures were decoded again on every row.
    # (tests/activities/test_activity_list.py::test_list_page_uses_few_queries counts them)
    rows = (
        visible_activities(user)
        .join(Activity.unit)
        .options(contains_eager(Activity.unit), load_only(*ROW_COLUMNS, raiseload=True))
        .where(Activity.id.in_(page_ids), *conditions)
        .order_by(*_sort_columns(filters.sort))
    )
    return list(db.session.scalars(rows).unique())


@dataclass
class ActivityList:
    """What the list page shows: the filters, the counts per state and one page."""

    filters: ListFilters
    counts: dict[ActivityState, int] | None  # None: a search with more than SEARCH_COUNT_CAP matches
    page: Page
    is_capped: bool = False  # more matches than a search counts: the page pages through the first ones
    count_cap: int = SEARCH_COUNT_CAP

    @property
    def count_all(self) -> int:
        return self.count_cap if self.counts is None else sum(self.counts.values())


def activity_list(user: User, filters: ListFilters) -> ActivityList:
    """Counts and one page of the list: two queries, whatever the page shows."""
    matches = _search_matches(user, filters) if filters.q else None
    counts = _counts_of(matches) if filters.q else state_counts(user, filters)
    # The counts already give the total, so no separate COUNT(*) is needed. Past the cap a
    # search pages through its first SEARCH_COUNT_CAP matches.
    if counts is None:
        total = _capped_total(user, filters) if filters.state else SEARCH_COUNT_CAP + 1
    else:
        total = counts[filters.state] if filters.state else sum(counts.values())
    # A search whose matches hold the page (a title looked up, say) has its page read by id.
    ids = _page_among_matches(filters, matches, total) if matches is not None else None
    page = paginate(user, filters, min(total, SEARCH_COUNT_CAP), ids=ids)
    return ActivityList(filters=filters, counts=counts, page=page, is_capped=total > SEARCH_COUNT_CAP,
                        count_cap=SEARCH_COUNT_CAP)
