"""search keys name the units above

PostgreSQL only. The search index (d3f7a1c95e28) names each activity's unit; it now also names
every unit above it, as 'in:<id>' for each id of the unit's path ('/1/58/590/': in:1, in:58,
in:590). A middle node's search then looks its subtree up as one key: a province of the
synthetic nation (177 units) had GIN find, for each of its entries, the smallest among 177 unit
lists (7.6 ms for 培训).

The path is copied into the activity (`unit_path`, read by nothing but the index): an index
can hold only what its row holds. Triggers keep the copy: on an activity's insert or change of
unit, from its unit; on a unit's change of path (a move takes its subtree along), onto its
activities. The column is not in the models, as the index is not (models/activities.py,
`made_by_search_migrations`), and SQLite has neither.

The index is dropped while the column is filled (each row's pieces would be computed again for
nothing) and built again after: about as long as its first build. Filling the column writes a new
version of every row, which left the table twice its size, its first half empty: a search that
reads rows in the table's order (the root's common terms) then read the empty half first, and
the planner chose parallel scans for a larger table (a one-match search 20 -> 50 ms at a million
activities). The table is written again in id order (CLUSTER) before the index is built.

Revision ID: b6e1c4d8a2f0
Revises: f81c2d6a4b93
Create Date: 2026-12-07 19:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b6e1c4d8a2f0'
down_revision = 'f81c2d6a4b93'
branch_labels = None
depends_on = None

# Kept in step with SEARCH_KEYS in qmonth/activities/pgsearch.py (see d3f7a1c95e28).
SEPARATOR = "E'\\x01'"
DOCUMENT = " || ".join(f"{field} || {SEPARATOR}" for field in ("title", "county", "address", "description"))
PIECES = f"qmonth_search_pieces(lower({DOCUMENT}))"
UNIT_KEYS = f"({PIECES} || ARRAY['unit:' || CAST(unit_id AS TEXT)])"
KEYS = f"({PIECES} || ARRAY['unit:' || CAST(unit_id AS TEXT)] || qmonth_path_keys(unit_path))"


def _build_index(expression: str) -> None:
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    op.execute(f"CREATE INDEX ix_activity_search_pieces ON activity USING gin (({expression}))")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_activity_search_pieces")
    op.execute("ALTER TABLE activity ADD COLUMN unit_path varchar(255)")
    op.execute("UPDATE activity SET unit_path = unit.path FROM unit WHERE unit.id = activity.unit_id")
    op.execute("""
        CREATE FUNCTION qmonth_activity_unit_path() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.unit_path := (SELECT path FROM unit WHERE id = NEW.unit_id);
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER activity_unit_path BEFORE INSERT OR UPDATE OF unit_id ON activity "
               "FOR EACH ROW EXECUTE FUNCTION qmonth_activity_unit_path()")
    op.execute("""
        CREATE FUNCTION qmonth_unit_path_to_activities() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE activity SET unit_path = NEW.path WHERE unit_id = NEW.id;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER unit_path_to_activities AFTER UPDATE OF path ON unit FOR EACH ROW "
               "WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION qmonth_unit_path_to_activities()")
    # Every id of the path, as the key of the units above (and of the unit itself).
    op.execute("""
        CREATE FUNCTION qmonth_path_keys(path text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg('in:' || part), '{}') FROM unnest(string_to_array(btrim(path, '/'), '/')) AS part
        $$""")
    op.execute("CLUSTER activity USING pk_activity")
    op.execute("ALTER TABLE activity SET WITHOUT CLUSTER")  # a rewrite now, not an order to keep
    _build_index(KEYS)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_activity_search_pieces")
    op.execute("DROP TRIGGER IF EXISTS unit_path_to_activities ON unit")
    op.execute("DROP TRIGGER IF EXISTS activity_unit_path ON activity")
    op.execute("DROP FUNCTION IF EXISTS qmonth_unit_path_to_activities()")
    op.execute("DROP FUNCTION IF EXISTS qmonth_activity_unit_path()")
    op.execute("ALTER TABLE activity DROP COLUMN unit_path")
    op.execute("DROP FUNCTION IF EXISTS qmonth_path_keys(text)")
    _build_index(UNIT_KEYS)
