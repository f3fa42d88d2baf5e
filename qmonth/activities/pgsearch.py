"""PostgreSQL's search index: its keys, what they cost, and how statements use it.

One GIN index (migrations a9c4e2f7b316, d3f7a1c95e28, b6e1c4d8a2f0) over each activity's
searched text (its one- and two-character pieces) and its units (its own and those above it).
`qmonth.activities.listing` builds the list's queries with it; SQLite has a trigram index of
its own there instead.
"""
from __future__ import annotations

import time
import unicodedata
from weakref import WeakKeyDictionary

from sqlalchemy import Text, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, array

from ..extensions import db

# The columns the list's search reads, in the index's order (listing.SEARCHED_COLUMNS).
SEARCHED_KEYS = ("title", "county", "address", "description")

# The index's expression: the one- and two-character pieces of one lowered text per activity
# (those columns, each followed by a separator), the key 'unit:<id>' of its unit and 'in:<id>' of
# its unit and of each unit above (from `unit_path`, its unit's path copied by triggers). Text
# pieces are one or two characters, so no key can be taken for one. The planner uses the index
# only for this very expression, so it is written out as the migration writes it.
UNIT_KEY, SUBTREE_KEY = "unit:", "in:"
SEARCH_DOCUMENT = "lower(" + " || ".join(f"activity.{key} || E'\\x01'" for key in SEARCHED_KEYS) + ")"
SEARCH_PIECES_FUNCTION = "qmonth_search_pieces"
SEARCH_KEYS = literal_column(
    f"({SEARCH_PIECES_FUNCTION}({SEARCH_DOCUMENT}) || ARRAY['{UNIT_KEY}' || CAST(activity.unit_id AS TEXT)]"
    " || qmonth_path_keys(activity.unit_path))")


def unit_key(unit_id: int) -> str:
    """The search index's key of a unit's own activities."""
    return f"{UNIT_KEY}{unit_id}"


def subtree_key(unit_id: int) -> str:
    """The search index's key of the activities of a unit and of every unit below it."""
    return f"{SUBTREE_KEY}{unit_id}"


def holds_keys(*keys: str):
    """The activity's keys include all of these."""
    return SEARCH_KEYS.op("@>")(literal(list(keys), ARRAY(Text)))


def holds_any_key(keys: list[str]):
    """The activity's keys include at least one of these."""
    return SEARCH_KEYS.op("&&")(literal(keys, ARRAY(Text)))


def holds_unit_key_of(unit_id_column):
    """The activity's keys include the unit key of the unit a column names (one row of a query)."""
    return SEARCH_KEYS.op("@>")(array([literal(UNIT_KEY) + cast(unit_id_column, Text)]))


# Enough memory for the bitmap of a term found in a million activities to stay exact: a
# lossy bitmap would make PostgreSQL recompute the pieces of every row on its lossy pages.
SEARCH_WORK_MEM = "64MB"
# What a statement that searches runs with (see `plan_searches_on_their_index`).
SEARCH_SETTINGS = {"enable_seqscan": "off", "work_mem": SEARCH_WORK_MEM, "max_parallel_workers_per_gather": "0"}
SEARCH_SETTINGS_KEY = "qmonth_settings_before_search"


def plan_searches_on_their_index(engine) -> None:
    """Run every statement that searches through the pieces index with sequential scans off.

    The pieces are computed from an activity's whole text: a few thousand per row. Read
    through the index they cost nothing, but when the planner judges a term common (质量)
    and scans the table instead, it computes them row by row and a search of 300,000
    activities takes minutes. With sequential scans off the index is always read, and
    the rows it finds are confirmed with ILIKE, which is cheap; settings are restored
    right after, so no other statement of the transaction is affected.

    Parallel workers are off for them too: their keys cost the planner enough per row that it
    started two workers for a one-match search of a million activities, whose start took longer
    than the search (20 -> 45-57 ms a request).
    """
    from sqlalchemy import event

    read = "SELECT " + ", ".join(f"current_setting('{name}')" for name in SEARCH_SETTINGS)
    change = "SELECT " + ", ".join(f"set_config('{name}', '{value}', true)" for name, value in SEARCH_SETTINGS.items())
    restore = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in SEARCH_SETTINGS)

    def before(conn, cursor, statement, parameters, context, executemany):
        if SEARCH_PIECES_FUNCTION in statement:
            if SEARCH_SETTINGS_KEY not in conn.info:
                conn.info[SEARCH_SETTINGS_KEY] = cursor.connection.execute(read).fetchone()
            cursor.connection.execute(change)

    def after(conn, cursor, statement, parameters, context, executemany):
        if SEARCH_PIECES_FUNCTION in statement:
            # The connection's own values, read before its first search: restored from pg_settings
            # instead, each search paid for a scan of every setting.
            cursor.connection.execute(restore, conn.info[SEARCH_SETTINGS_KEY])

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


def pieces_of_term_present(term: str):
    """Every piece of the term is among the activity's pieces: true of every row ILIKE finds.

    A term of two characters or more is looked up by its two-character pieces alone: they hold
    every character of it, and a single character (第, 期, a digit) is in so many activities that
    intersecting its index entries cost most of a search's time. A term without case is looked up
    by its rarest pairs only (see `rarest_pairs`)."""
    if (chosen := rarest_pairs(term)) is not None:
        return SEARCH_KEYS.op("@>")(literal(chosen, ARRAY(Text)))
    pieces = getattr(func, SEARCH_PIECES_FUNCTION)
    wanted = pieces(func.lower(literal(term, Text)))
    if len(term) >= 2:
        piece = func.unnest(wanted).table_valued("piece").render_derived()
        pairs = select(func.array_agg(piece.c.piece)).where(func.length(piece.c.piece) == 2).scalar_subquery()
        wanted = func.coalesce(pairs, wanted)
    return SEARCH_KEYS.op("@>")(wanted)


# Letters that have no case (Chinese characters, kana), digits and punctuation: nothing lowers
# to them and they lower to themselves, so for a term made only of these ILIKE and a plain
# substring test (strpos) find the same rows, and the substring test is several times faster
# (PostgreSQL's ILIKE lowers a copy of every text it tests: a row found by reading costs about
# 4 µs with ILIKE, 1 µs with LIKE and less with strpos).
CASELESS_CATEGORIES = frozenset({"Lo", "Nd", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"})


def has_no_case(term: str) -> bool:
    """Whether the term is made only of characters that no case folding changes or produces."""
    return all(unicodedata.category(char) in CASELESS_CATEGORIES for char in term)


PIECE_STATISTICS_SECONDS = 600
_piece_statistics: WeakKeyDictionary = WeakKeyDictionary()  # engine -> (read at, {piece: share}, rows)


def piece_shares() -> tuple[dict[str, float], float]:
    """The pieces most common among activities with their share of them, and the table's rows,
    from PostgreSQL's statistics of the pieces index (kept by ANALYZE); read again every ten
    minutes. Nothing before the first ANALYZE: every search then counts through the index."""
    engine = db.session.get_bind()
    cached = _piece_statistics.get(engine)
    if cached is None or time.monotonic() - cached[0] > PIECE_STATISTICS_SECONDS:
        statistics = db.session.execute(db.text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE tablename = 'ix_activity_search_pieces'")).first()
        rows = db.session.scalar(db.text("SELECT reltuples FROM pg_class WHERE relname = 'activity'")) or 0
        shares = dict(zip(statistics[0], statistics[1])) if statistics and statistics[0] else {}
        _piece_statistics[engine] = cached = (time.monotonic(), shares, float(rows))
    return cached[1], cached[2]


def term_pieces(term: str) -> set[str]:
    """The pieces a term is looked up by (see `pieces_of_term_present`), as PostgreSQL makes them."""
    lowered = term.lower()
    if len(lowered) < 2:
        return {lowered}
    return {lowered[i:i + 2] for i in range(len(lowered) - 1)}


# A term is looked up by just enough of its rarest pairs for PostgreSQL's statistics to expect at
# most this many entries holding them all; the rows found are tested for the whole term anyway.
EXPECTED_ROWS_TO_TEST = 300


def rarest_pairs(term: str) -> list[str] | None:
    """The pairs of a term without case to look up, rarest first, until the statistics expect at
    most EXPECTED_ROWS_TO_TEST entries to hold them all; None for a term with case (PostgreSQL
    lowers it: its pairs are then made there), of one character, or with no statistics yet.

    Each pair looked up is a list of index entries to walk, and a common pair's is long: 第999953期
    is looked up by 第9, 99, 95, 53 and 3期, each in 5-11% of a million activities (9.2 ms), where
    99, 95 and 53 alone leave 498 rows to test (4.5 ms). A pair missing from the statistics is
    rarer than any they list, and counted as rare as the rarest."""
    if len(term) < 2 or not has_no_case(term):
        return None
    shares, rows = piece_shares()
    if not shares or not rows:
        return None
    rarest_listed = min(shares.values())
    chosen, expected = [], rows
    for pair in sorted(term_pieces(term), key=lambda pair: (shares.get(pair, 0.0), pair)):
        chosen.append(pair)
        expected *= shares.get(pair, rarest_listed)
        if expected <= EXPECTED_ROWS_TO_TEST:
            break
    return chosen


def is_rare(q: str) -> bool:
    """Whether the statistics expect at most EXPECTED_ROWS_TO_TEST entries to hold the search's
    terms: its rows are then found by the terms alone, and the units are tested on them (see
    `listing._units_among_keys`). False with no statistics yet."""
    shares, rows = piece_shares()
    return bool(shares) and estimated_share(q) * rows <= EXPECTED_ROWS_TO_TEST


def estimated_share(q: str) -> float:
    """The share of activities a search holds, estimated as PostgreSQL estimates it, each piece
    independent of the others (第4321期's pieces are each in one entry of ten to twenty; together
    in one); 0 for a piece rarer than its statistics list."""
    shares = piece_shares()[0]
    share = 1.0
    for term in q.split():
        for piece in term_pieces(term):
            share *= shares.get(piece, 0.0)
    return share
