"""search keys name the unit

PostgreSQL only. The pieces index (a9c4e2f7b316) also holds each activity's unit, as the key
'unit:<id>' (text pieces are one or two characters, so no piece can be mistaken for it). A
unit's or a city's search then looks its term and its units up in the one index, where GIN
walks the shorter list and skips through the longer: 培训 among a million activities, for one
bureau's 17,544, read the term's 124,852 entries into a bitmap and intersected it with the
unit index's (34 ms); with the unit in the index it reads about the 2,200 they share.

The index keeps its name (PostgreSQL's statistics of it are read by that name); its expression
changes, so it is built again, which takes as long as its first build (the pieces of every
activity are computed again).

Revision ID: d3f7a1c95e28
Revises: 7b2e4c9d1a36
Create Date: 2026-12-07 19:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd3f7a1c95e28'
down_revision = '7b2e4c9d1a36'
branch_labels = None
depends_on = None

# Kept in step with SEARCH_KEYS in qmonth/activities/pgsearch.py: the planner uses the index only
# for a query naming its expression exactly.
SEPARATOR = "E'\\x01'"
DOCUMENT = " || ".join(f"{field} || {SEPARATOR}" for field in ("title", "county", "address", "description"))
PIECES = f"qmonth_search_pieces(lower({DOCUMENT}))"
KEYS = f"({PIECES} || ARRAY['unit:' || CAST(unit_id AS TEXT)])"


def _rebuild(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_activity_search_pieces")
    # Memory for the build (this transaction only): the pieces of every activity are sorted once.
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    op.execute(f"CREATE INDEX ix_activity_search_pieces ON activity USING gin (({expression}))")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(KEYS)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(PIECES)
