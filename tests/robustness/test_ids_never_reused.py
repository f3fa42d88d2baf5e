"""Ids are never reused: a deleted draft's id (and its 办理记录) never passes to a new entry,
and a database made before AUTOINCREMENT upgrades with its sequences above every id used."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, insert, inspect, select, text

from qmonth.extensions import db
from qmonth.models import Activity, AuditEvent

from tests.activities.test_activity_form import form_page, valid_fields
from tests.helpers import OUTBOX_COLUMNS, REPORT_COLUMNS, TREE_COLUMNS, stand_in_columns


def _new_draft(client, title: str) -> int:
    _html, token, key = form_page(client)
    response = client.post("/activities/new", data={"csrf_token": token, "form_key": key,
                                                     **valid_fields(title=title)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _delete(client, activity_id: int) -> None:
    page = client.get(f"/activities/{activity_id}/delete").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post(f"/activities/{activity_id}/delete", data={"csrf_token": token}).status_code == 302


def test_a_deleted_drafts_id_and_history_never_reach_another_bureau(client, login_as):
    login_as("jinan-zj")
    deleted_id = _new_draft(client, "济南拟删除的草稿")
    _delete(client, deleted_id)

    login_as("qingdao-zj")
    new_id = _new_draft(client, "青岛新登记的草稿")
    assert new_id > deleted_id
    page = client.get(f"/activities/{new_id}").get_data(as_text=True)
    assert "青岛新登记的草稿" in page
    assert "删除" not in page.split("办理记录", 1)[1]
    assert "济南" not in page.split("办理记录", 1)[1]
    history = client.get(f"/activities/{new_id}/history").get_data(as_text=True)
    assert "删除" not in history and "创建草稿" in history


def test_history_shows_only_the_events_of_the_object_it_belongs_to(client, login_as, make_activity, user_named):
    """A database that reused an id before the upgrade still holds the old object's events
    under that id: the page shows only those since the present object was created."""
    from qmonth.audit import record

    activity = make_activity("qingdao-zj", title="青岛现有的活动")
    # The trail an earlier, deleted draft of another bureau left under the same id.
    for action in ("activity.create", "activity.edit", "activity.delete"):
        event = record(action, actor=user_named("jinan-zj"), obj=activity, reason="济南的旧草稿")
        event.unit_id = user_named("jinan-zj").unit_id
    db.session.flush()
    record("activity.create", actor=user_named("qingdao-zj"), obj=activity)
    db.session.commit()

    login_as("qingdao-zj")
    for path in (f"/activities/{activity.id}", f"/activities/{activity.id}/history"):
        section = client.get(path).get_data(as_text=True).split("办理记录", 1)[1]
        assert "济南的旧草稿" not in section and "删除" not in section
        assert "创建草稿" in section


PREVIOUS_HEAD = "6aab730ab595"
IDS_NEVER_REUSED = "c3f9a41e7b20"
# Columns that revisions after PREVIOUS_HEAD add: the ORM fills the old schema with today's
# models, so they stand in while it does and are dropped before the upgrade is checked.
LATER_COLUMNS = {
    **TREE_COLUMNS,
    **REPORT_COLUMNS,
    "activity": [("client_id", "VARCHAR(36)"), ("client_hash", "VARCHAR(64)"), *OUTBOX_COLUMNS["activity"]],
    "photo": [("client_id", "VARCHAR(36)"), ("original_sha256", "VARCHAR(64)"), ("taken_at", "TIMESTAMP"),
              ("received_at", "TIMESTAMP")],
}
REBUILT = ("campaign", "unit", "user", "activity", "photo", "attachment", "unit_report", "bulletin", "reminder",
           "unit_reopening")


@pytest.fixture
def old_database_url(database, template_db, tmp_path):
    """An empty database for an instance made before ids were never reused."""
    if database == "sqlite":
        (tmp_path / "old").mkdir()
        yield f"sqlite:///{tmp_path / 'old' / 'qmonth.db'}"
        return
    name = f"{template_db.prefix}_old_{next(template_db.numbers)}"
    template_db.execute(f'CREATE DATABASE "{name}"')
    yield template_db.url_of(name)
    template_db.drop(name)


def _schema():
    """Every table's row count and index names, and the SQLite triggers."""
    inspector = inspect(db.engine)
    with db.engine.connect() as connection:
        tables = {table: (connection.scalar(text(f'SELECT count(*) FROM "{table}"')),
                          sorted(index["name"] for index in inspector.get_indexes(table)),
                          sorted(str(key["referred_table"]) + key["options"].get("ondelete", "")
                                 for key in inspector.get_foreign_keys(table)))
                  for table in inspector.get_table_names() if not table.startswith("activity_search")}
        triggers = (sorted(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
                    if db.engine.dialect.name == "sqlite" else [])
    return tables, triggers


def test_an_existing_database_upgrades_and_never_gives_a_deleted_id_again(
        database, old_database_url, tmp_path, make_activity_in):
    from flask_migrate import upgrade

    from qmonth.activities.services import delete_activity
    from qmonth.models import Photo, Role, User

    from tests.conftest import CAMPAIGN_FILE, _make_app

    instance = tmp_path / "old-instance"
    instance.mkdir()
    app = _make_app(instance, old_database_url)
    with app.app_context():
        upgrade(revision=PREVIOUS_HEAD)
        stand_in_columns(LATER_COLUMNS, "add")
        runner = app.test_cli_runner()
        assert runner.invoke(args=["campaign", "load", str(CAMPAIGN_FILE)]).exit_code == 0
        assert runner.invoke(args=["seed-demo", "--activities", "12"]).exit_code == 0
        kept = make_activity_in("qingdao-zj", title="青岛保留的活动")
        db.session.add(Photo(activity=kept, unit_id=kept.unit_id, uploaded_by_id=kept.author_id,
                             storage_key="ab" * 16, width=10, height=10, sha256="0" * 64))
        # A reminder read by an account since deleted: its id lives on only in a JSON list.
        from qmonth.models import Campaign, Reminder, ReminderRecipient

        gone_user_id = db.session.scalar(select(func.max(User.id))) + 7
        # A Core insert names only the columns given: the model has columns later revisions add.
        reminder_id = db.session.execute(insert(Reminder.__table__).values(
            campaign_id=db.session.scalar(select(Campaign.id)), message="请按时报送。")).inserted_primary_key[0]
        db.session.add(ReminderRecipient(reminder_id=reminder_id, unit_id=kept.unit_id, read_by=[gone_user_id]))
        top = make_activity_in("jinan-zj", title="济南拟删除的草稿")
        deleted_id = top.id
        delete_activity(top, by=db.session.scalar(select(User).where(User.username == "jinan-zj")))
        db.session.commit()
        if database == "postgresql":  # a sequence left behind (a hand-made restore): the audit rows remember
            db.session.execute(text("SELECT setval(pg_get_serial_sequence('activity', 'id'), "
                                    "(SELECT max(id) FROM activity))"))
            db.session.commit()
        kept_id = kept.id
        stand_in_columns(LATER_COLUMNS, "drop")
        before = _schema()
        history_before = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "activity", AuditEvent.object_id == kept_id))
        db.session.remove()

        upgrade(revision=IDS_NEVER_REUSED)

        assert _schema() == before  # every row, index, foreign key and trigger is there again
        upgrade()
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "activity", AuditEvent.object_id == kept_id)) == history_before
        assert db.session.scalar(select(Photo.storage_key).where(Photo.activity_id == kept_id)) == "ab" * 16
        new = make_activity_in("qingdao-zj", title="青岛新登记的草稿")
        assert new.id > deleted_id
        account = User(username="new-account", display_name="新账号", role=Role.REPORTER, password_hash="x")
        db.session.add(account)
        db.session.commit()
        assert account.id > gone_user_id
        if database == "sqlite":
            for table in REBUILT:
                sql = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table})
                assert "AUTOINCREMENT" in sql, table
            # The activity search index follows the rebuilt table through its triggers.
            def found(term: str) -> list[int]:
                return list(db.session.scalars(
                    text("SELECT rowid FROM activity_search WHERE activity_search MATCH :term"), {"term": term}))
            assert found("新登记") == [new.id] and found("青岛保留") == [kept_id]
            # And a deleted top row's id is not given again after the upgrade either.
            delete_activity(new, by=db.session.scalar(select(User).where(User.username == "qingdao-zj")))
            db.session.commit()
            assert make_activity_in("qingdao-zj", title="再登记").id > new.id
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_activity_in():
    """make_activity for an app the test builds itself (the audit trail included)."""
    from datetime import date

    from qmonth.audit import record
    from qmonth.models import ActivityKind, Campaign, Task, Unit, User

    def make(unit_code: str, *, title: str) -> Activity:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        author = db.session.scalar(select(User).where(User.username == unit_code))
        activity = Activity(
            campaign=db.session.scalar(select(Campaign).where(Campaign.is_active)), unit=unit, author=author,
            title=title, kind=db.session.scalar(select(ActivityKind).where(ActivityKind.code == "training")),
            tasks=list(db.session.scalars(select(Task).where(Task.number == 2))),
            starts_on=date(2024, 9, 10), ends_on=date(2024, 9, 10), figures={})
        db.session.add(activity)
        record("activity.create", actor=author, obj=activity, to_state="draft")
        db.session.commit()
        return activity

    return make
