"""activity search index

SQLite only: a trigram full-text index of what the activity list's search reads
(title, county, address and description), so that a search looks rows up instead of
running LIKE over every activity twice (once for the counts, once for the page).
Triggers keep it in step with the activity table. PostgreSQL gets nothing here: it
searches the columns with ILIKE.

A later migration that rebuilds the activity table (batch_alter_table on SQLite copies
it into a new table) drops these triggers with the old table, and has to create them
again; tests/activities/test_activity_list.py fails if they are missing.

Revision ID: 58dc9899ac75
Revises: 72d5335249e8
Create Date: 2026-11-23 23:38:15.507015

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '58dc9899ac75'
down_revision = '72d5335249e8'
branch_labels = None
depends_on = None

FIELDS = ("title", "county", "address", "description")
TRIGGERS = ("activity_search_insert", "activity_search_delete", "activity_search_update")


def _document(row: str) -> str:
    """What is indexed for one activity: its fields in one text, each folded and padded.

    lower() folds ASCII letters only, as SQLite's LIKE does, so the index finds exactly
    what LIKE found. Two padding characters (char 1, which a search term never holds)
    close every field: each character of a field then begins a trigram, so a
    two-character term is found through the trigrams that begin with it, and no term
    can match across the end of one field and the start of the next.
    """
    return " || ".join(f"lower({row}.{field}) || char(1, 1)" for field in FIELDS)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    version = bind.exec_driver_sql("SELECT sqlite_version()").scalar()
    if tuple(int(part) for part in version.split(".")) < (3, 34):
        raise RuntimeError(f"qmonth needs SQLite 3.34 or newer (FTS5 trigram tokenizer); this is {version}")
    # Contentless (content=''): the texts stay in the activity table, the index keeps only
    # trigrams and their positions (positions make a longer term match as a whole).
    op.execute("CREATE VIRTUAL TABLE activity_search USING fts5("
               "body, content='', columnsize=0, tokenize='trigram case_sensitive 1')")
    # The index's vocabulary, where a two-character term's trigrams are looked up.
    op.execute("CREATE VIRTUAL TABLE activity_search_terms USING fts5vocab(activity_search, 'row')")
    op.execute(f"INSERT INTO activity_search (rowid, body) SELECT id, {_document('activity')} FROM activity")
    op.execute(f"""
        CREATE TRIGGER activity_search_insert AFTER INSERT ON activity BEGIN
            INSERT INTO activity_search (rowid, body) VALUES (new.id, {_document('new')});
        END""")
    # A contentless index forgets a row by being given the very text it indexed.
    op.execute(f"""
        CREATE TRIGGER activity_search_delete AFTER DELETE ON activity BEGIN
            INSERT INTO activity_search (activity_search, rowid, body)
                VALUES ('delete', old.id, {_document('old')});
        END""")
    op.execute(f"""
        CREATE TRIGGER activity_search_update AFTER UPDATE OF id, {', '.join(FIELDS)} ON activity BEGIN
            INSERT INTO activity_search (activity_search, rowid, body)
                VALUES ('delete', old.id, {_document('old')});
            INSERT INTO activity_search (rowid, body) VALUES (new.id, {_document('new')});
        END""")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS activity_search_terms")
    op.execute("DROP TABLE IF EXISTS activity_search")
