"""Hardening of sign-in: throttling kept in the database, sessions that end everywhere,
cookies behind a reverse proxy, and the security log."""
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qmonth.auth.throttle import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from qmonth.extensions import db
from qmonth.models import LoginAttempt

from tests.conftest import DEMO_PASSWORD, _make_app
from tests.helpers import csrf_token_from

THROTTLED = "登录失败次数过多"


def post_login(client, username, password, **environ):
    token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


def fail_logins(client, username, times, **environ):
    for _ in range(times):
        response = post_login(client, username, "wrong-password-1", **environ)
        assert response.status_code == 422


def security_log(app) -> list[str]:
    path = Path(app.instance_path) / "security.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_ten_failures_lock_the_account_even_with_the_right_password(app, client):
    fail_logins(client, "jinan-zj", MAX_FAILURES_PER_ACCOUNT)
    blocked = post_login(client, "jinan-zj", DEMO_PASSWORD)
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert THROTTLED in html and "15 分钟后再试" in html
    assert 'value="jinan-zj"' in html  # the user's input is kept
    assert client.get("/").status_code == 302  # not signed in
    # Another account from the same desk is not punished for it.
    assert post_login(client, "qingdao-zj", DEMO_PASSWORD).status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(app, client):
    fail_logins(client, "jinan-zj", MAX_FAILURES_PER_ACCOUNT)
    assert post_login(client, "jinan-zj", DEMO_PASSWORD).status_code == 429
    app.config["CLOCK_OFFSET"] += timedelta(minutes=15, seconds=5)
    assert post_login(client, "jinan-zj", DEMO_PASSWORD).status_code == 302


def test_failures_before_a_successful_login_do_not_count(app, client, login_as):
    fail_logins(client, "jinan-zj", MAX_FAILURES_PER_ACCOUNT - 1)
    login_as("jinan-zj")
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/account/password").get_data(as_text=True))})
    fail_logins(client, "jinan-zj", 1)
    assert post_login(client, "jinan-zj", DEMO_PASSWORD).status_code == 302


def test_the_throttle_holds_across_workers(app, client, instance_dir, database_url):
    """Two app instances on one database stand for two gunicorn workers."""
    fail_logins(client, "jinan-zj", MAX_FAILURES_PER_ACCOUNT)
    other_worker = _make_app(instance_dir, database_url)
    other_client = other_worker.test_client()
    response = post_login(other_client, "jinan-zj", DEMO_PASSWORD)
    assert response.status_code == 429
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)
                             .where(LoginAttempt.username == "jinan-zj")) == MAX_FAILURES_PER_ACCOUNT


def test_many_failures_from_one_address_block_that_address_only(app, client):
    for number in range(MAX_FAILURES_PER_ADDRESS):
        post_login(client, f"guess-{number}", "wrong-password-1", REMOTE_ADDR="10.9.8.7")
    assert post_login(client, "jinan-zj", DEMO_PASSWORD, REMOTE_ADDR="10.9.8.7").status_code == 429
    assert post_login(client, "jinan-zj", DEMO_PASSWORD, REMOTE_ADDR="10.9.8.8").status_code == 302


def test_the_activity_forms_re_login_is_throttled_too(app, client, csrf_token):
    fail_logins(client, "jinan-zj", MAX_FAILURES_PER_ACCOUNT)
    response = client.post("/activities/new", data={
        "title": "质量月启动仪式", "relogin_username": "jinan-zj", "relogin_password": DEMO_PASSWORD,
        "csrf_token": csrf_token()})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert THROTTLED in html
    assert "质量月启动仪式" in html  # what was typed is still there


def test_logout_ends_the_users_sessions_on_other_devices(app, login_as):
    office = app.test_client()
    phone = app.test_client()
    for device in (office, phone):
        page = device.get("/login")
        device.post("/login", data={"username": "jinan-zj", "password": DEMO_PASSWORD,
                                    "csrf_token": csrf_token_from(page.get_data(as_text=True))})
        assert device.get("/").status_code == 200
    token = csrf_token_from(office.get("/account/password").get_data(as_text=True))
    office.post("/logout", data={"csrf_token": token})
    assert office.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert phone.get("/").headers["Location"].startswith("/login")


def test_session_cookie_flags_on_plain_http(client):
    response = post_login(client, "jinan-zj", DEMO_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_behind_an_https_proxy_the_cookie_is_secure_and_the_real_address_is_logged(instance_dir, database_url):
    app = _make_app(instance_dir, database_url, PROXY_FIX=1)
    client = app.test_client()
    # Over HTTPS Flask-WTF also checks that the Referer is this site, as a browser sends it.
    proxied = {"HTTP_X_FORWARDED_FOR": "172.20.1.15", "HTTP_X_FORWARDED_PROTO": "https",
               "HTTP_REFERER": "https://localhost/login"}
    response = post_login(client, "jinan-zj", DEMO_PASSWORD, **proxied)
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    with app.app_context():
        attempt = db.session.scalar(select(LoginAttempt).order_by(LoginAttempt.id.desc()))
        assert attempt.address == "172.20.1.15" and attempt.succeeded
        assert any("event=login.success" in line and "addr=172.20.1.15" in line for line in security_log(app))


def test_without_proxy_fix_forwarded_headers_are_not_trusted(app, client):
    response = post_login(client, "jinan-zj", DEMO_PASSWORD,
                          HTTP_X_FORWARDED_FOR="172.20.1.15", HTTP_X_FORWARDED_PROTO="https")
    assert "Secure" not in response.headers["Set-Cookie"]
    attempt = db.session.scalar(select(LoginAttempt).order_by(LoginAttempt.id.desc()))
    assert attempt.address == "127.0.0.1"


def test_security_log_records_logins_refusals_and_csrf_failures(app, client, login_as, make_activity):
    post_login(client, "jinan-zj", "wrong-password-1")
    login_as("jinan-zj")
    other = make_activity("qingdao-zj")
    assert client.get(f"/activities/{other.id}").status_code == 404
    assert client.get("/board/").status_code == 403
    client.post("/account/password", data={"current_password": "x", "csrf_token": "forged"})
    lines = security_log(app)
    assert any("event=login.failure" in line and "user=jinan-zj" in line and "unit=jinan-zj" in line
               for line in lines)
    assert any("event=login.success" in line and "user=jinan-zj" in line for line in lines)
    assert any("event=access.not_visible" in line and f"id={other.id}" in line and "unit=jinan-zj" in line
               for line in lines)
    assert any("event=access.denied" in line and "path=/board/" in line for line in lines)
    assert any("event=csrf.failure" in line and "path=/account/password" in line for line in lines)
    for line in lines:
        assert line[:4] == "2024" and "addr=127.0.0.1" in line


def test_security_log_escapes_line_breaks_in_values(app_without_database):
    app = app_without_database
    # The login form already refuses control characters in a user name; the log must not
    # rely on that, so the event is written directly here.
    from qmonth.securitylog import security_event

    with app.test_request_context("/login", method="POST"):
        security_event("login.failure", username="evil\nevent=login.success user=province", detail="a\rb\u2028c")
    lines = security_log(app)
    assert len(lines) == 1
    assert lines[0].count("event=") == 2  # ours, and the escaped copy inside the quoted value
    assert 'user="evil\\nevent=login.success user=province"' in lines[0]
    assert "detail=a\\rb\\u2028c" in lines[0]


def test_refused_uploads_are_in_the_security_log(app, client, login_as, make_activity):
    login_as("jinan-zj")
    activity = make_activity("jinan-zj")
    token = csrf_token_from(client.get(f"/activities/{activity.id}/edit").get_data(as_text=True))
    from io import BytesIO

    client.post(f"/activities/{activity.id}/photos", data={
        "photo": (BytesIO(b"<html><script>alert(1)</script></html>"), "site.jpg"), "csrf_token": token},
        content_type="multipart/form-data")
    assert any("event=upload.refused" in line and "file=site.jpg" in line for line in security_log(app))


def test_an_expired_activity_form_token_is_in_the_security_log(app, client, login_as):
    login_as("jinan-zj")
    response = client.post("/activities/new", data={"title": "质量月启动仪式", "csrf_token": "expired"})
    assert response.status_code == 422 and "质量月启动仪式" in response.get_data(as_text=True)
    assert any("event=csrf.failure" in line and "path=/activities/new" in line and "user=jinan-zj" in line
               for line in security_log(app))


def test_guessing_the_current_password_is_throttled_like_a_login(app, client, login_as, user_named):
    from qmonth.auth.services import verify_password

    login_as("jinan-zj")

    def change_password(current):
        token = csrf_token_from(client.get("/account/password").get_data(as_text=True))
        return client.post("/account/password", data={
            "current_password": current, "new_password": "Quality-2024-ok", "confirm_password": "Quality-2024-ok",
            "csrf_token": token})

    for number in range(MAX_FAILURES_PER_ACCOUNT):
        wrong = change_password(f"guess-{number}-password")
        assert wrong.status_code == 422 and "当前密码不正确。" in wrong.get_data(as_text=True)
    blocked = change_password(DEMO_PASSWORD)  # even the right password, while blocked
    assert blocked.status_code == 429
    assert "当前密码输错次数过多，请 15 分钟后再试。" in blocked.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(user_named("jinan-zj").password_hash, DEMO_PASSWORD)
    # The same counters as the login form: the account is locked there too.
    assert post_login(app.test_client(), "jinan-zj", DEMO_PASSWORD).status_code == 429
    lines = security_log(app)
    assert sum("event=password.change_failed" in line for line in lines) == MAX_FAILURES_PER_ACCOUNT
    assert any("event=password.throttled" in line and "user=jinan-zj" in line for line in lines)

    app.config["CLOCK_OFFSET"] += timedelta(minutes=15, seconds=5)
    assert change_password(DEMO_PASSWORD).status_code == 302
    db.session.expire_all()
    assert verify_password(user_named("jinan-zj").password_hash, "Quality-2024-ok")


@pytest.mark.every_database
@pytest.mark.parametrize("session_id", ["2147483648:1", "99999999999999999999:1", "²:1", "١:1", "--1:1", "1:²",
                                        "1:99999999999999999999", ":", "１:1"])
def test_a_session_naming_an_impossible_user_is_signed_out(client, session_id):
    """A session whose user id or version is no plain number within an id's range (the cookie is
    signed, so only a leaked key could write one) meets the login page, never a server error."""
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    response = client.get("/activities/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
