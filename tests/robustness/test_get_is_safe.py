"""GET never changes state: every GET route, as every actor, on A's, B's and missing ids,
leaves the database and the stored uploads exactly as they were."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from qmonth.extensions import db
from qmonth.models import AuditEvent

from tests.access.access_world import ACTORS, OWNERS, build_world, sign_in, url_for_rule


def database_snapshot() -> dict:
    """Every row of every table. Refused requests are audited by design (issue 6), so the
    audit trail may only have grown by access.denied records."""
    db.session.expire_all()
    snapshot = {}
    for table in db.metadata.sorted_tables:
        query = select(table).order_by(*table.primary_key.columns)
        if table.name == AuditEvent.__tablename__:
            query = query.where(table.c.action != "access.denied")
        snapshot[table.name] = [tuple(row) for row in db.session.execute(query)]
    db.session.rollback()
    return snapshot


def upload_snapshot(app) -> list[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_no_get_route_changes_the_database_or_the_uploads(app, make_activity):
    world = build_world(make_activity)
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    assert len(rules) > 40
    before, files_before = database_snapshot(), upload_snapshot(app)
    requests = 0
    for username in ACTORS.values():
        client = sign_in(app, username)
        for rule in rules:
            for owner in (OWNERS if rule.arguments else ("a",)):
                response = client.get(url_for_rule(app, rule, world[owner]))
                assert response.status_code < 500, f"{rule.endpoint} as {username}"
                requests += 1
    after = database_snapshot()
    changed = {name for name in before if before[name] != after[name]}
    assert not changed, f"GET requests changed {sorted(changed)}"
    assert upload_snapshot(app) == files_before
    assert requests > 300
    assert os.path.exists(app.config["UPLOAD_DIR"])
