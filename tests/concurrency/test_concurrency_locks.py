"""Who holds SQLite's write lock, and when: page views never, writes from their
first query, but not while argon2 or the photo pipeline works."""
from __future__ import annotations

import io
import sqlite3

import pytest
from sqlalchemy import event, func, select, text

from qmonth.extensions import db
from qmonth.models import Activity, ActivityState, Photo

from tests import photo_samples as samples
from tests.conftest import DEMO_PASSWORD
from tests.helpers import csrf_token_from

pytestmark = pytest.mark.sqlite_only("SQLite's write lock")


@pytest.fixture
def begin_statements(app):
    """The BEGIN statements the app sends, in order."""
    seen = []

    def remember(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    yield seen
    event.remove(db.engine, "before_cursor_execute", remember)


def write_lock_is_free(app) -> bool:
    """Another process's view: can it take the write lock right now, without waiting?"""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        other.close()


def test_page_views_begin_deferred_and_writes_begin_immediate(app, client, login_as, begin_statements):
    login_as("jinan-zj")
    begin_statements.clear()
    assert client.get("/activities/").status_code == 200
    assert begin_statements and set(begin_statements) == {"BEGIN"}

    begin_statements.clear()
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    begin_statements.clear()
    client.post("/logout", data={"csrf_token": token})
    assert begin_statements and set(begin_statements) == {"BEGIN IMMEDIATE"}


def test_operator_commands_begin_immediate(app, begin_statements):
    result = app.test_cli_runner().invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert begin_statements and set(begin_statements) == {"BEGIN IMMEDIATE"}


def test_the_write_lock_is_free_while_a_login_checks_the_password(app, client, monkeypatch):
    from qmonth.auth import services

    checked = []
    real_verify = services.verify_password

    def verify_and_look(password_hash, password):
        checked.append(write_lock_is_free(app))
        return real_verify(password_hash, password)

    monkeypatch.setattr(services, "verify_password", verify_and_look)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "jinan-zj", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert checked == [True]


def test_the_write_lock_is_free_while_a_photo_is_processed(app, client, login_as, make_activity, monkeypatch):
    from qmonth.photos import services

    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    checked = []
    real_process = services.process_photo

    def process_and_look(stream, **kwargs):
        checked.append(write_lock_is_free(app))
        return real_process(stream, **kwargs)

    monkeypatch.setattr(services, "process_photo", process_and_look)
    token = csrf_token_from(client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    response = client.post(f"/activities/{activity.id}/photos", data={
        "photo": (io.BytesIO(samples.encode(samples.photo_like(800, 600), quality=90)), "现场.jpg")},
        headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert checked == [True]


def test_a_photo_for_an_activity_submitted_while_it_was_processed_is_refused(
        app, client, login_as, make_activity, monkeypatch):
    from qmonth.photos import services

    activity = make_activity("jinan-zj")
    login_as("jinan-zj")
    real_process = services.process_photo

    def submitted_in_another_tab(stream, **kwargs):
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE activity SET state = :state WHERE id = :id"),
                               {"state": ActivityState.SUBMITTED.value, "id": activity.id})
        return real_process(stream, **kwargs)

    monkeypatch.setattr(services, "process_photo", submitted_in_another_tab)
    token = csrf_token_from(client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    response = client.post(f"/activities/{activity.id}/photos", data={
        "photo": (io.BytesIO(samples.encode(samples.photo_like(800, 600), quality=90)), "现场.jpg")},
        headers={"X-Requested-With": "qmonth-upload", "X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(Photo.id)).where(Photo.activity_id == activity.id)) == 0
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).state is ActivityState.SUBMITTED
