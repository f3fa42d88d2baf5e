"""postgresql search index

PostgreSQL only (SQLite has its trigram index since 58dc9899ac75): a GIN index over the
one- and two-character pieces of what the activity list's search reads (title, county,
address and description, lowered, one text per activity). A search term of any length is
looked up as "every piece of the term is among the activity's pieces", then each row so
found is tested with ILIKE, so the index narrows and ILIKE decides: results are exactly
ILIKE's.

Why not pg_trgm: its trigrams need three characters, while most Chinese search terms are
two (培训, 观摩, 检测), and it drops every character its locale does not count as a letter or
digit, so under some lc_ctype settings it drops Chinese altogether. Pieces of one and two
characters taken by this function depend on no locale and serve terms of every length.

Revision ID: a9c4e2f7b316
Revises: b7e3c1a9d402
Create Date: 2026-12-05 02:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a9c4e2f7b316'
down_revision = 'b7e3c1a9d402'
branch_labels = None
depends_on = None

# Kept in step with qmonth/activities/pgsearch.py, which builds the same expression: the
# planner uses the index only for a query naming its expression exactly.
SEPARATOR = "E'\\x01'"
DOCUMENT = " || ".join(f"{field} || {SEPARATOR}" for field in ("title", "county", "address", "description"))


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # Every distinct piece of one and of two characters; a piece holding the separator
    # would join two fields, so none is kept.
    op.execute(f"""
        CREATE FUNCTION qmonth_search_pieces(body text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT piece), '{{}}')
            FROM (SELECT substr(body, i, width) AS piece
                  FROM generate_series(1, length(body)) AS i, (VALUES (1), (2)) AS widths (width)
                  WHERE i + width - 1 <= length(body)) AS pieces
            WHERE strpos(piece, {SEPARATOR}) = 0
        $$""")
    op.execute(f"CREATE INDEX ix_activity_search_pieces ON activity "
               f"USING gin (qmonth_search_pieces(lower({DOCUMENT})))")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_activity_search_pieces")
    op.execute("DROP FUNCTION IF EXISTS qmonth_search_pieces(text)")
