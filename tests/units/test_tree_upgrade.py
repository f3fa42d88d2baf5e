"""Upgrading in place: a database of the schema before the tree (revision 486dc3e883ac), filled,
upgrades to one where the issuer is the root and today's units are its children; nothing is lost."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from qmonth.extensions import db

from tests.helpers import OUTBOX_COLUMNS, REPORT_COLUMNS, TREE_COLUMNS, stand_in_columns
from tests.robustness.test_ids_never_reused import make_activity_in  # noqa: F401 (fixture)

BEFORE_TREE = "486dc3e883ac"
LATER_COLUMNS = {**TREE_COLUMNS, **OUTBOX_COLUMNS, **REPORT_COLUMNS}


@pytest.fixture
def old_database_url(database, template_db, tmp_path):
    """An empty database for an instance made before the tree."""
    if database == "sqlite":
        (tmp_path / "old").mkdir()
        yield f"sqlite:///{tmp_path / 'old' / 'qmonth.db'}"
        return
    name = f"{template_db.prefix}_old_{next(template_db.numbers)}"
    template_db.execute(f'CREATE DATABASE "{name}"')
    yield template_db.url_of(name)
    template_db.drop(name)


def _counts() -> dict[str, int]:
    return {table: db.session.scalar(text(f'SELECT count(*) FROM "{table}"'))
            for table in ("unit", "user", "activity", "audit_event", "unit_report", "reminder_recipient", "photo")}


def test_a_filled_database_of_the_previous_schema_upgrades_to_the_tree(database, old_database_url, tmp_path,
                                                                      make_activity_in):
    from flask_migrate import upgrade

    from qmonth.models import Activity, Campaign, Unit, User

    from tests.conftest import CAMPAIGN_FILE, _make_app

    instance = tmp_path / "old-instance"
    instance.mkdir()
    app = _make_app(instance, old_database_url)
    with app.app_context():
        upgrade(revision=BEFORE_TREE)
        stand_in_columns(LATER_COLUMNS, "add")  # the later columns stand in while today's models fill it
        runner = app.test_cli_runner()
        assert runner.invoke(args=["campaign", "load", str(CAMPAIGN_FILE)]).exit_code == 0
        assert runner.invoke(args=["seed-demo", "--activities", "30"]).exit_code == 0
        kept = make_activity_in("qingdao-zj", title="青岛升级前的活动")
        kept_id, kept_unit = kept.id, kept.unit_id
        # What the previous schema held: province admins without a unit, no issuer unit, flat units.
        db.session.execute(text("UPDATE \"user\" SET unit_id = NULL WHERE role = 'province_admin'"))
        db.session.commit()
        stand_in_columns(LATER_COLUMNS, "drop")
        db.session.execute(text("DELETE FROM unit WHERE code = 'shandong-zjt'"))
        db.session.commit()
        before = _counts()
        unit_ids = dict(db.session.execute(text("SELECT code, id FROM unit")).all())
        db.session.remove()

        upgrade()

        after = _counts()
        assert after == {**before, "unit": before["unit"] + 1}  # the root is new; nothing else changed
        root = db.session.scalar(select(Unit).where(Unit.code == "shandong-zjt"))
        assert root.name == "山东省住房和城乡建设厅" and root.parent_id is None and root.path == f"/{root.id}/"
        units = db.session.scalars(select(Unit).where(Unit.id != root.id)).all()
        assert {u.code: u.id for u in units} == unit_ids
        assert all(u.parent_id == root.id and u.path == f"/{root.id}/{u.id}/" and u.depth == 1 for u in units)
        assert db.session.scalar(select(Campaign.root_unit_id)) == root.id
        assert db.session.scalar(select(Campaign.held_units)) == []  # no file waits on the campaign
        assert db.session.scalar(select(User.unit_id).where(User.username == "province")) == root.id
        assert db.session.get(Activity, kept_id).unit_id == kept_unit
        # Every entry is counted in the tally the list reads (filled by its migration).
        live = db.session.execute(text(
            "SELECT campaign_id, unit_id, state, count(*) FROM activity GROUP BY campaign_id, unit_id, state")).all()
        tally = db.session.execute(text(
            "SELECT campaign_id, unit_id, state, count FROM activity_tally WHERE count <> 0")).all()
        assert live and sorted(map(tuple, live)) == sorted(map(tuple, tally))
        # The upgraded database works as a tree: the province registers, a city sees only its own.
        assert db.session.scalar(select(func.count()).select_from(Unit).where(
            Unit.path.like(f"{root.path}%"))) == before["unit"] + 1
        db.session.remove()
        db.engine.dispose()
