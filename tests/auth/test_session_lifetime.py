"""A sign-in ends after two idle hours or twelve hours in all; the login page says why, and the
activity form keeps what was typed. The clock is moved, as in the throttle's tests."""
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from qmonth.config import settings_from_env
from qmonth.extensions import db
from qmonth.models import Activity

from tests.conftest import DEMO_PASSWORD, _make_app
from tests.helpers import csrf_token_from
from tests.activities.test_activity_form import form_page, valid_fields

IDLE = "您已超过 120 分钟未操作，为保护账号安全已自动退出，请重新登录。"
LIFETIME = "本次登录已超过 12 小时，为保护账号安全请重新登录。"
POLL = {"HX-Request": "true", "X-Qmonth-Poll": "1", "HX-Current-URL": "http://localhost/activities/?state=draft"}


def wait(app, **moment) -> None:
    app.config["CLOCK_OFFSET"] += timedelta(**moment)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def security_log(app) -> str:
    path = Path(app.instance_path) / "security.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_two_idle_hours_end_the_session_and_the_login_page_says_why(app, client, login_as):
    login_as("jinan-zj")
    wait(app, hours=1, minutes=59)
    assert signed_in(client)  # a request: the idle time starts again
    wait(app, hours=1, minutes=59)
    assert signed_in(client)
    wait(app, hours=2, minutes=1)

    response = client.get("/activities/?state=draft")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Factivities%2F%3Fstate%3Ddraft"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert IDLE in login_page and "请先登录。" not in login_page
    assert not signed_in(client)
    assert "event=session.expired" in security_log(app) and "reason=idle" in security_log(app)

    # Signing in again returns to the page that was asked for.
    token = csrf_token_from(login_page)
    again = client.post("/login?next=%2Factivities%2F%3Fstate%3Ddraft",
                        data={"username": "jinan-zj", "password": DEMO_PASSWORD, "csrf_token": token})
    assert again.headers["Location"] == "/activities/?state=draft"
    assert signed_in(client)


def test_twelve_hours_end_the_session_however_busy_the_user(app, client, login_as):
    login_as("jinan-zj")
    for _hour in range(6):
        wait(app, hours=1, minutes=50)
        assert signed_in(client)
    wait(app, hours=1, minutes=1)  # 12 h 01 min after signing in, 1 h 01 min after the last request
    response = client.get("/", follow_redirects=True)
    assert LIFETIME in response.get_data(as_text=True)
    assert not signed_in(client)


def test_a_page_left_open_does_not_keep_its_session_alive(app, client, login_as):
    login_as("jinan-zj")
    for _poll in range(2):  # the countdown refreshes itself; nobody is at the desk
        wait(app, minutes=50)
        assert client.get("/countdown", headers=POLL).status_code == 200
    wait(app, minutes=21)  # 2 h 01 min after the last request of the user's own
    response = client.get("/countdown", headers=POLL)
    # htmx moves the whole page to the login form (a redirect would land inside the countdown box).
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=%2Factivities%2F%3Fstate%3Ddraft"
    assert IDLE in client.get("/login").get_data(as_text=True)


def test_what_was_typed_survives_an_expired_session(app, client, login_as):
    login_as("jinan-zj")
    _html, csrf, key = form_page(client)
    wait(app, hours=2, minutes=1)  # the reporter was called away while writing

    fields = valid_fields(title="质量月现场观摩会（超时后保存）", form_key=key)
    expired = client.post("/activities/new", data={"csrf_token": csrf, **fields})
    assert expired.status_code == 401
    html = expired.get_data(as_text=True)
    assert "登录已超时。填写的内容已保留" in html and "质量月现场观摩会（超时后保存）" in html

    saved = client.post("/activities/new", data={
        "csrf_token": csrf_token_from(html), **fields, "relogin_username": "jinan-zj",
        "relogin_password": DEMO_PASSWORD})
    assert saved.status_code == 302
    assert db.session.scalar(select(Activity.title).where(Activity.form_key == key)) == \
        "质量月现场观摩会（超时后保存）"


def test_the_limits_are_settings(instance_dir, database_url):
    assert settings_from_env({"QMONTH_SESSION_IDLE_MINUTES": "30", "QMONTH_SESSION_MAX_HOURS": "8"}) == {
        "SESSION_IDLE_MINUTES": "30", "SESSION_MAX_HOURS": "8"}
    app = _make_app(instance_dir, database_url, SESSION_IDLE_MINUTES="30", SESSION_MAX_HOURS="8")
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "jinan-zj", "password": DEMO_PASSWORD, "csrf_token": token})
    with app.app_context():
        wait(app, minutes=29)
        assert signed_in(client)
        wait(app, minutes=31)
        response = client.get("/", follow_redirects=True)
        assert "您已超过 30 分钟未操作" in response.get_data(as_text=True)
        db.engine.dispose()

    with pytest.raises(ValueError, match="SESSION_IDLE_MINUTES"):
        _make_app(instance_dir, database_url, SESSION_IDLE_MINUTES="two hours")


def test_flask_no_longer_accepts_a_cookie_for_31_days(app_without_database):
    app = app_without_database
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert app.config["SESSION_IDLE_MINUTES"] == 120
