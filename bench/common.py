"""Helpers the in-process benchmarks share: a migrated instance, logging in and printing figures."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import unicodedata
from pathlib import Path

PASSWORD = "qmonth-demo"


def migrated_app(instance, **settings):
    """An app on a throwaway instance (SQLite unless settings name another database),
    migrated to the current schema."""
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


@contextlib.contextmanager
def private_postgres():
    """A throwaway PostgreSQL cluster in a temporary directory, reached by its Unix socket
    only, as scripts/test starts one: yields the URL of an empty database, then deletes it."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
    if not binaries:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    bin_dir = binaries[-1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="qmonth-bench-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres")
    run = functools.partial(subprocess.run, check=True, stdout=subprocess.DEVNULL)
    run([*as_postgres, bin_dir / "initdb", "-D", folder / "data", "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8"])
    run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-l", folder / "server.log", "-w",
         "-o", f"-c listen_addresses='' -k {folder} -c shared_buffers=1GB -c work_mem=64MB", "start"])
    try:
        run([*as_postgres, bin_dir / "createdb", "-h", folder, "-U", "postgres", "qmonth"])
        yield f"postgresql+psycopg://postgres@/qmonth?host={folder}"
    finally:
        subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
