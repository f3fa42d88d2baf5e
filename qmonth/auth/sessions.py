"""How long a sign-in lasts: an idle timeout and an absolute lifetime, then the login page says why.

The session cookie is signed, not stored, so the cookie itself carries when the user signed in
and when they were last seen; the signature keeps both honest. Defaults (settings
SESSION_IDLE_MINUTES, SESSION_MAX_HOURS; QMONTH_SESSION_IDLE_MINUTES and so on):

- 120 minutes idle: long enough for a reporter who writes a long description, takes a call, or
  walks a construction site between photos (the activity form keeps the input and signs in
  again in place anyway); short enough that a PC left unlocked in a shared bureau office does
  not stay signed in for the afternoon;
- 12 hours in all: a working day with overtime, so yesterday's sign-in never reaches today and
  a copied cookie is worth half a day at most, not the 31 days of Flask's default.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, flash, g, jsonify, make_response, redirect, request, session
from flask_login import logout_user, user_logged_in
from flask_login.utils import login_url

from ..extensions import login_manager
from ..htmx import is_htmx
from ..securitylog import security_event
from ..timeutil import utcnow

DEFAULT_IDLE_MINUTES = 120
DEFAULT_MAX_HOURS = 12
# The last-seen time is rewritten at most this often, so that not every request sets a new cookie.
SEEN_RESOLUTION = 60  # seconds

IDLE_MESSAGE = "您已超过 {minutes} 分钟未操作，为保护账号安全已自动退出，请重新登录。"
LIFETIME_MESSAGE = "本次登录已超过 {hours} 小时，为保护账号安全请重新登录。"
# Requests a page makes by itself (the countdown, the board's refresh, a PDF's progress) carry
# this header: they are not the user at work and must not keep an unattended session alive.
POLL_HEADER = "X-Qmonth-Poll"


def register(app: Flask) -> None:
    """Read the two limits (a wrong value stops the start, not a request) and install the hooks."""
    idle = _positive_number(app, "SESSION_IDLE_MINUTES", DEFAULT_IDLE_MINUTES)
    lifetime = _positive_number(app, "SESSION_MAX_HOURS", DEFAULT_MAX_HOURS)
    app.config["SESSION_IDLE_MINUTES"], app.config["SESSION_MAX_HOURS"] = idle, lifetime
    # Flask also refuses a cookie signed longer ago than this: the lifetime holds even for a cookie
    # that predates these rules.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=lifetime)
    app.before_request(end_expired_session)
    user_logged_in.connect(start_session_clock, app)
    login_manager.unauthorized_handler(ask_to_sign_in)


def _positive_number(app: Flask, key: str, default: int) -> int:
    value = app.config.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ValueError(f"{key} must be a whole number above 0, not {value!r}")
    return number


def _now() -> int:
    return int(utcnow().timestamp())


def start_session_clock(_app, user, **_extra) -> None:
    """user_logged_in: the session's lifetime starts at its first sign-in (changing the password
    signs in again but does not extend it: the login view starts every session empty)."""
    now = _now()
    session.setdefault("login_at", now)
    session["seen_at"] = now


def end_expired_session():
    """before_request: sign out a session idle for too long or older than its lifetime.

    The request then goes on anonymous: a page asks to sign in (ask_to_sign_in says why), and
    the activity form answers with its own re-login that keeps what was typed."""
    if "_user_id" not in session:
        return None
    now = _now()
    config = current_app.config
    login_at, seen_at = session.get("login_at"), session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        # A session signed in before these rules: its clock starts now.
        session["login_at"] = session["seen_at"] = now
        return None
    if now - login_at > config["SESSION_MAX_HOURS"] * 3600:
        reason, message = "lifetime", LIFETIME_MESSAGE.format(hours=config["SESSION_MAX_HOURS"])
    elif now - seen_at > config["SESSION_IDLE_MINUTES"] * 60:
        reason, message = "idle", IDLE_MESSAGE.format(minutes=config["SESSION_IDLE_MINUTES"])
    else:
        if now - seen_at >= SEEN_RESOLUTION and not request.headers.get(POLL_HEADER):
            session["seen_at"] = now
        return None
    security_event("session.expired", reason=reason)
    logout_user()
    session.clear()
    g.session_expired_message = message
    return None


def ask_to_sign_in():
    """Flask-Login's answer to a request that needs a signed-in user: a message, then the login
    page, which comes back here afterwards. An htmx request moves the whole page there (a redirect
    would put the login page inside the fragment it was refreshing)."""
    if request.headers.get("X-Requested-With") == "qmonth-upload":
        # The phone's uploader and outbox: they keep what they hold and say so; no page to show.
        return jsonify(ok=False, relogin=True, error="登录已过期，重新登录后自动继续发送。"), 401
    flash(g.get("session_expired_message") or login_manager.login_message, login_manager.login_message_category)
    if is_htmx():
        page = request.headers.get("HX-Current-URL") or request.url
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url(login_manager.login_view, next_url=page)
        return response
    return redirect(login_url(login_manager.login_view, next_url=request.url))
