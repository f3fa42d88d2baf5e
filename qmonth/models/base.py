"""What every table module shares."""
from __future__ import annotations

# Tables whose ids reach URLs, audit rows, JSON lists or caches: SQLite's AUTOINCREMENT
# keeps a deleted row's id from being handed to the next row (plain rowids restart at
# max(id) + 1), so a new object never inherits a deleted one's links or history.
# PostgreSQL's sequences never go back anyway.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _enum_values(enum_class):
    return [member.value for member in enum_class]
