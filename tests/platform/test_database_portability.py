"""What must read the same on SQLite and on PostgreSQL (scripts/test runs every test on both)."""
from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qmonth.extensions import db
from qmonth.models import made_by_search_migrations

from tests.helpers import csrf_token_from


def test_the_migrated_schema_matches_the_models(app):
    """Migrations and models agree on this database: types, lengths, indexes, constraints."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            # The search indexes are made by hand in their migrations, as migrations/env.py says.
            "include_name": lambda name, type_, parents: not made_by_search_migrations(name, type_, parents),
        })
        assert compare_metadata(context, db.metadata) == []


def test_the_account_list_begins_with_the_province(client, login_as):
    """The province's accounts belong to the root, at the top of the tree; an account without a
    unit would sort first on SQLite and last on PostgreSQL unless the query says where it goes."""
    login_as("province")
    html = client.get("/admin/users").get_data(as_text=True)
    units = re.findall(r'<td data-label="单位">([^<]*)</td>', html)
    assert len(units) == 113  # 44 addressees and 12 county bureaus, two accounts each, and the province
    assert units[0] == "山东省住房和城乡建设厅" and units[-1] != "山东省住房和城乡建设厅"
    assert units.index("济南市住房和城乡建设局") < units.index("菏泽市水务局")


def test_a_user_name_is_found_whatever_its_case(client):
    """SQLite's = and PostgreSQL's = are both case-sensitive: the login lowers both sides."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "Jinan-ZJ", "password": "qmonth-demo", "csrf_token": token})
    assert response.status_code == 302
    assert "济南市住房和城乡建设局" in client.get("/").get_data(as_text=True)
