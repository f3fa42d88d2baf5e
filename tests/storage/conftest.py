"""Fixtures for the storage tests: every test here runs with the local folder and with a
real S3 server (SeaweedFS, tests/storage/s3_server.py), on each database where it needs one."""
from __future__ import annotations

import secrets

import pytest

from qmonth.extensions import db

from tests.conftest import _make_app, app_in_context
from tests.storage.s3_server import start_s3_server

STORES = ["local", "s3"]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = start_s3_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(params=STORES)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def s3_prefix() -> str:
    """Each test's own corner of the bucket, so tests never see each other's objects."""
    return f"t-{secrets.token_hex(6)}"


@pytest.fixture
def store_settings(request, store_kind, s3_prefix) -> dict:
    if store_kind == "local":
        return {}
    return request.getfixturevalue("s3_server").settings(s3_prefix)


@pytest.fixture
def app(instance_dir, database_url, store_settings):
    """The app of tests/conftest.py, with the store of this run (local or s3)."""
    yield from app_in_context(instance_dir, database_url, **store_settings)


@pytest.fixture
def app_without_database(instance_dir, store_settings):
    app = _make_app(instance_dir, **store_settings)
    with app.app_context():
        yield app


@pytest.fixture
def live_server(instance_dir, database_url, store_settings):
    """The app served on a loopback port in a thread, for the browser, with this run's store."""
    import threading

    from werkzeug.serving import make_server

    app = _make_app(instance_dir, database_url, **store_settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    server.app = app
    yield server
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()
