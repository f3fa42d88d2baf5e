"""Helpers the in-process benchmarks share: a migrated instance, logging in and printing figures."""
from __future__ import annotations

import re
import statistics
import unicodedata

PASSWORD = "qmonth-demo"


def migrated_app(instance, **settings):
    """An app on a throwaway SQLite instance, migrated to the current schema."""
    from flask_migrate import upgrade

    from qmonth import create_app

    app = create_app({
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'qmonth.db'}",
        "UPLOAD_DIR": str(instance / "uploads"),
        **settings,
    })
    with app.app_context():
        upgrade()
    return app


def login(client, username: str) -> None:
    """Log a Flask test client in through the real login form."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302, f"login as {username} failed"


def pad(text: str, width: int) -> str:
    """Left-align by display width: a Chinese character takes two columns in a terminal."""
    shown = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(width - shown, 0)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]
