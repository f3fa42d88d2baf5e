"""A database that cannot be reached: the user is told so in Chinese (503), never a bare 500."""
from __future__ import annotations

import re
import secrets

import pytest

from tests.conftest import _make_app, csrf_token_from

pytestmark = pytest.mark.every_database

MESSAGE = "数据库暂时无法访问，本次操作未能完成，请稍后重试。"


def unreachable_url(database: str, tmp_path) -> str:
    """Where nothing answers: a PostgreSQL socket folder with no server, an SQLite file in a folder
    that does not exist."""
    if database == "postgresql":  # a short path: a socket's may not pass 107 bytes
        return f"postgresql+psycopg://postgres@/qmonth?host=/tmp/qmonth-no-server-{secrets.token_hex(4)}"
    return f"sqlite:///{tmp_path / 'gone' / 'qmonth.db'}"


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_a_signed_in_user_meets_a_database_that_is_down(client, login_as, database, tmp_path):
    """The session was made while the database answered; then it went away. Every kind of request
    (a page, an htmx search, a form post, the login itself) gets 503 and the message, and the page
    names no user (it cannot know who is signed in)."""
    login_as("jinan-zj")
    down = _make_app(tmp_path / "instance-down", unreachable_url(database, tmp_path))
    visitor = down.test_client()
    visitor.set_cookie("session", client.get_cookie("session").value)

    page = visitor.get("/activities/")
    assert page.status_code == 503 and MESSAGE in text_of(page)
    assert "济南市住房和城乡建设局" not in text_of(page) and "退出" not in text_of(page)

    search = visitor.get("/activities/?q=培训", headers={"HX-Request": "true"})
    assert search.status_code == 503 and search.headers["HX-Retarget"] == "#alerts"
    assert MESSAGE in text_of(search)

    anonymous = down.test_client()
    token = csrf_token_from(anonymous.get("/login").get_data(as_text=True))
    login = anonymous.post("/login", data={"username": "jinan-zj", "password": "qmonth-demo", "csrf_token": token})
    assert login.status_code == 503 and MESSAGE in text_of(login)
    assert down.test_client().get("/healthz").get_json()["database"] == "unavailable"
