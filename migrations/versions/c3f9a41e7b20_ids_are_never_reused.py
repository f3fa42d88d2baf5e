"""ids are never reused

SQLite hands a new row max(id) + 1, so deleting the newest activity gave its id, and
with it the deleted row's audit trail, to the next activity of any bureau. The tables
whose ids reach URLs, audit rows or JSON id lists are rebuilt with AUTOINCREMENT
(sqlite_sequence then remembers the highest id ever given), and every sequence, on
SQLite and on PostgreSQL, starts above the highest id used anywhere: in the table, in
the audit rows about that kind of object and in the JSON lists that hold such ids.
File names hold no ids (stored files have random keys, cached PDFs a content hash).

The rebuild copies each table with batch_alter_table (indexes, foreign keys and
constraints are reflected and made again) and re-creates the table's triggers (the
activity search index's, from 58dc9899ac75) from their stored SQL. migrations/env.py
turns SQLite's foreign keys off while migrations run, so dropping the old activity
table does not cascade into photos; foreign_key_check runs before the commit.

Revision ID: c3f9a41e7b20
Revises: 6aab730ab595
Create Date: 2026-12-04 17:30:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3f9a41e7b20'
down_revision = '6aab730ab595'
branch_labels = None
depends_on = None

# Table -> the object_type its audit rows carry (record() writes the class name in lower case).
TABLES = {
    "campaign": "campaign",
    "unit": "unit",
    "user": "user",
    "activity": "activity",
    "photo": "photo",
    "attachment": "attachment",
    "unit_report": "unitreport",
    "bulletin": "bulletin",
    "reminder": "reminder",
    "unit_reopening": "unitreopening",
}
# Other columns that hold a table's ids.
ID_COLUMNS = {
    "user": [("audit_event", "actor_id")],
    "unit": [("audit_event", "unit_id")],
}
# JSON lists of ids.
ID_LISTS = {
    "activity": [("bulletin", "activity_ids"), ("unit_report", "highlight_activity_ids")],
    "user": [("reminder_recipient", "read_by")],
}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in TABLES:
            _rebuild_with_autoincrement(bind, table)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the rebuild broke foreign keys: {broken[:10]}")
    for table, object_type in TABLES.items():
        highest = _highest_id_used(bind, table, object_type)
        if bind.dialect.name == "sqlite":
            _seed_sqlite_sequence(bind, table, highest)
        elif bind.dialect.name == "postgresql":
            _seed_postgresql_sequence(bind, table, highest)


def downgrade():
    # AUTOINCREMENT is harmless to an older revision: keep the tables as they are.
    pass


def _rebuild_with_autoincrement(bind, table: str) -> None:
    """Copy the table into one declared AUTOINCREMENT; its triggers are made again."""
    triggers = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
                            {"table": table}).scalars().all()
    with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass
    for statement in triggers:
        op.execute(statement)


def _highest_id_used(bind, table: str, object_type: str) -> int:
    """The highest id the table's rows have had, as far as the database remembers them."""
    marks = [
        bind.execute(sa.text(f'SELECT max(id) FROM "{table}"')).scalar(),
        bind.execute(sa.text("SELECT max(object_id) FROM audit_event WHERE object_type = :type"),
                     {"type": object_type}).scalar(),
    ]
    for other, column in ID_COLUMNS.get(table, ()):
        marks.append(bind.execute(sa.text(f'SELECT max({column}) FROM "{other}"')).scalar())
    for other, column in ID_LISTS.get(table, ()):
        for (value,) in bind.execute(sa.text(f'SELECT {column} FROM "{other}"')):
            ids = json.loads(value) if isinstance(value, str) else value
            if isinstance(ids, list):
                marks += [item for item in ids if isinstance(item, int) and not isinstance(item, bool)]
    return max((mark for mark in marks if mark is not None), default=0)


def _seed_sqlite_sequence(bind, table: str, highest: int) -> None:
    current = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :table"),
                           {"table": table}).scalar()
    if current is None:
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
                     {"table": table, "seq": highest})
    elif current < highest:
        bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :table"),
                     {"table": table, "seq": highest})


def _seed_postgresql_sequence(bind, table: str, highest: int) -> None:
    sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": f'"{table}"'}).scalar()
    if sequence is None or highest < 1:
        return
    last_value, is_called = bind.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
    given = last_value if is_called else last_value - 1
    if given < highest:
        bind.execute(sa.text("SELECT setval(CAST(:sequence AS regclass), :value, true)"),
                     {"sequence": sequence, "value": highest})
