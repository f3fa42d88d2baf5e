"""Fixtures: an app with its own database per test, clients and logins.

Tests that use the database run on SQLite and, when QMONTH_DATABASE_URL names a
PostgreSQL database (scripts/test starts a throwaway cluster and sets it), on
PostgreSQL as well: their ids end in [sqlite] or [postgresql]. Either way each test
gets its own copy of a template database built once per run (once per pytest-xdist
worker when scripts/test runs the suite on several cores).
"""
from __future__ import annotations

import gc
import itertools
import os
import queue
import shutil
import threading
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from flask.globals import _cv_app
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, event, make_url, select, text
from werkzeug.routing import Rule
from werkzeug.test import run_wsgi_app
from werkzeug.wsgi import get_current_url

from qmonth import ROOT, create_app
from qmonth.auth import services as auth_services
from qmonth.extensions import db

from tests.helpers import csrf_token_from

CAMPAIGN_FILE = ROOT / "qmonth" / "campaigns" / "2024-shandong.toml"
DEMO_PASSWORD = "qmonth-demo"
DEMO_CLOCK = "2024-09-20T10:00:00+08:00"
# "gw0", "gw1"... under pytest-xdist, "main" otherwise: part of every shared name a
# worker creates, so that workers never build or drop each other's databases.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# The cyclic garbage collector at Python's default threshold (a young collection every 700 new
# objects) ran about 5,500 times in 530 tests and took 7-9% of their CPU: each test builds an app,
# its templates' contexts and ORM objects by the thousand. Every 10,000 objects it ran 282 times
# (1.8 s instead of 7.0-7.6 s) and the tests took 10% less CPU (80 against 90 s, two runs each).
# Cycles are still collected, a little later; the servers tests start keep Python's defaults.
gc.set_threshold(10_000, 20, 100)

# argon2 at the app's cost (64 MiB, three passes: about 0.1-0.3 s a login on this
# machine) made the suite's two thousand logins its largest single cost. Tests hash
# and verify with argon2id at its cheapest instead; the production cost is checked by
# test_auth.py, and servers the tests start in a subprocess (gunicorn) keep it.
APP_PASSWORD_HASHER = auth_services._hasher
auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
auth_services._DUMMY_HASH = auth_services._hasher.hash("qmonth-timing-equaliser")


# Werkzeug compiles a URL builder (Python source through ast and compile()) for each rule
# of each app: 0.2 s of every test's own app, over a thousand apps a run. The builder
# depends only on the rule's parsed parts, its defaults and converters, and takes the rule
# as its first argument, so one compiled builder serves the same rule of every app.
_compile_builder = Rule._compile_builder
_BUILDERS: dict = {}


def _shared_builder(rule: Rule, append_unknown: bool = True):
    key = (rule.rule, tuple(rule._trace), append_unknown, repr(sorted((rule.defaults or {}).items())),
           tuple((name, type(converter)) for name, converter in rule._converters.items()))
    builder = _BUILDERS.get(key)
    if builder is None:
        builder = _BUILDERS[key] = _compile_builder(rule, append_unknown)
    return builder


Rule._compile_builder = _shared_builder

# The same for parsing each rule into its parts (regular expressions and weights): 4 ms of each
# app. The parts are data; what belongs to the app's map, the converters, is made for each rule
# as the first parse made them.
_parse_rule = Rule._parse_rule
_PARSED: dict = {}


def _shared_parse(rule: Rule, text: str):
    key = (text, tuple(sorted(rule.map.converters.items())))
    parsed = _PARSED.get(key)
    if parsed is None:
        made = []
        trace_start = len(rule._trace)
        get_converter = rule.get_converter

        def recording(variable, converter, args, kwargs):
            made.append((variable, converter, args, kwargs))
            return get_converter(variable, converter, args, kwargs)

        rule.get_converter = recording
        try:
            parts = list(_parse_rule(rule, text))
        finally:
            del rule.get_converter
        _PARSED[key] = (parts, rule._trace[trace_start:], made)
        return parts
    parts, trace, made = parsed
    rule._trace.extend(trace)
    for variable, converter, args, kwargs in made:
        rule._converters[variable] = rule.get_converter(variable, converter, args, kwargs)
        rule.arguments.add(variable)
    return parts


Rule._parse_rule = _shared_parse


def _postgres_server_url() -> str | None:
    """The PostgreSQL database given for this run, if any.

    The variable is taken out of the environment so that the apps tests build keep
    their own settings (and test_config sees the defaults); it is kept under a name
    the app does not read, for the pytest-xdist workers this process starts later.
    """
    url = os.environ.pop("QMONTH_DATABASE_URL", "") or os.environ.get("TESTS_POSTGRES_URL", "")
    os.environ["TESTS_POSTGRES_URL"] = url
    if url and make_url(url).get_backend_name() == "postgresql":
        return url
    return None


POSTGRES_URL = _postgres_server_url()
DATABASES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test checks SQLite itself, or the one-machine setup; skipped on PostgreSQL")
    config.addinivalue_line(
        "markers", "postgresql_only(reason): the test needs PostgreSQL (several machines); skipped on SQLite")
    config.addinivalue_line(
        "markers", "every_database(reason): a browser test that runs on each database, not on one")
    config.addinivalue_line(
        "markers", "one_database(reason): what the test checks lies above the database (the printed "
                   "file, the headers); it runs on one database, chosen as for browser tests")


BROWSER_FIXTURES = {"browser", "playwright_driver"}


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """A browser test runs on one database, half of them on each.

    What a browser test adds is the page's own code (htmx, the outbox, photo shrinking, the
    CSP) and Chromium's side of the wire; the server code under it runs on both databases in
    the client tests, which reach every route. Running each browser test twice was over a
    third of the suite's test time (690 of 1,884 s, December 2026). The database a test gets
    is fixed by its name (a stable hash), so both databases keep serving about half of the
    browser tests; a test where the database matters under the browser says so with
    `every_database`. A parametrize mark is how the `database` fixture's own params yield.

    A client test marked `one_database` is spread the same way: its subject lies above the
    database (the glyphs of a printed file, the headers of every page), and the data under it
    is stored and read back on both databases by other tests.
    """
    if len(DATABASES) < 2 or "database" not in metafunc.fixturenames:
        return
    if not (BROWSER_FIXTURES & set(metafunc.fixturenames) or metafunc.definition.get_closest_marker("one_database")):
        return
    definition = metafunc.definition
    if definition.get_closest_marker("every_database"):
        return
    if definition.get_closest_marker("sqlite_only"):
        chosen = "sqlite"
    elif definition.get_closest_marker("postgresql_only"):
        chosen = "postgresql"
    else:
        chosen = DATABASES[zlib.crc32(definition.nodeid.encode()) % 2]
    definition.add_marker(pytest.mark.parametrize("database", [chosen], indirect=True, scope="session"))


# The longest tests (gunicorn under load for a fixed time, the route fuzzer) go first, so that
# on several xdist workers the rest of the suite runs beside them instead of after them.
LONG_TESTS = ("tests/robustness/test_route_fuzzer.py::",)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    def long_first(item) -> int:
        return 0 if item.get_closest_marker("slow") or item.nodeid.startswith(LONG_TESTS) else 1

    items.sort(key=long_first)


class SharedTemplateCache(BytecodeCache):
    """Compiled templates kept in memory for every app this process builds: each test
    builds its own app, and compiling the templates again for each cost more than the
    requests. Jinja checks the source's checksum, so an edited template is recompiled."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SharedTemplateCache()


class SharedCompiledCache(dict):
    """Compiled SQL kept for every engine this process builds, as the templates are.

    SQLAlchemy caches a statement's compiled form per engine, under a key that starts with
    the engine's dialect object; each test's app has its own engine, so every test compiled
    its statements again (a sixth of a request-heavy test's time). Dialects of the same class
    talking to the same server compile alike, so the key names the class and server version
    instead of the object.
    """

    @staticmethod
    def _shared(key):
        dialect = key[0]
        return ((type(dialect), dialect.server_version_info), *key[1:])

    def get(self, key, default=None):
        return super().get(self._shared(key), default)

    def __setitem__(self, key, value):
        super().__setitem__(self._shared(key), value)


COMPILED_CACHE = SharedCompiledCache()


def _make_app(instance: Path, database_url: str | None = None, **overrides):
    settings = {
        "INSTANCE_PATH": instance,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'qmonth.db'}",
        "UPLOAD_DIR": str(instance / "uploads"),
        # Tests live inside the 2024 campaign, as the demo does; tests about other
        # moments pass their own `now` or set DEMO_CLOCK.
        "DEMO_CLOCK": DEMO_CLOCK,
    }
    settings.update(overrides)
    app = create_app(settings)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    for engine in db._app_engines[app].values():
        engine._compiled_cache = COMPILED_CACHE
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _no_sync)
    return app


def _no_sync(dbapi_connection, _record) -> None:
    """A test's SQLite file is thrown away: commits need not wait for the disk (the app asks
    for synchronous=FULL, and a commit then waited for an fsync). Tests that kill servers
    mid-write run gunicorn in a process of its own, with the app's own setting."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")


class PostgresServer:
    """Databases on the test server: a template built once, then one copy per test.

    Copying and dropping a database cost about as much as a short test, and each test
    waited for both. Two threads of this process now do them while tests run, each on a
    connection of its own: one keeps the next copies ready, the other drops used ones. They
    are apart because a drop waits: PostgreSQL polls every 100 ms until the backend of the
    test's last connection has exited, and copies queued behind those waits made a short
    test wait 0.3 s for its database.
    """

    READY_COPIES = 3

    def __init__(self, url: str):
        self.url = make_url(url)
        self.prefix = f"qmonth_test_{WORKER}_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.numbers = itertools.count(1)
        self.engine = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._to_drop: queue.Queue[str | None] = queue.Queue()
        self._wake = threading.Event()
        self._stopping = False
        self._copier: threading.Thread | None = None
        self._dropper: threading.Thread | None = None

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def execute(self, statement: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(text(statement))

    def create_template(self) -> str:
        self.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{self.template}"')
        return self.url_of(self.template)

    def copy_template(self) -> str:
        """A fresh copy of the (finished) template, usually made ahead by the copier thread."""
        if self._copier is None:
            self._copier = threading.Thread(target=self._keep_copies_ready, name="template-copies", daemon=True)
            self._dropper = threading.Thread(target=self._drop_used, name="template-drops", daemon=True)
            self._copier.start()
            self._dropper.start()
        self._wake.set()
        ready = self._ready.get(timeout=300)
        if isinstance(ready, BaseException):
            raise ready
        return ready

    def drop(self, name: str) -> None:
        """Drop a test's database (in the background once the threads run)."""
        if self._dropper is None:
            self._drop_now(self.engine, name)
            return
        self._to_drop.put(name)

    @staticmethod
    def _drop_now(engine, name: str) -> None:
        # FORCE: a connection a test leaked must not keep its database alive.
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def _keep_copies_ready(self) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        # FILE_COPY (PostgreSQL 15+) copies a small database faster than the WAL_LOG default.
        try:
            with engine.connect():  # reads the server's version
                pass
            strategy = " STRATEGY FILE_COPY" if engine.dialect.server_version_info >= (15,) else ""
            while not self._stopping:
                if self._ready.qsize() < self.READY_COPIES:
                    name = f"{self.prefix}_{next(self.numbers)}"
                    with engine.connect() as connection:
                        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{strategy}'))
                    self._ready.put(name)
                    continue
                self._wake.wait(timeout=1)
                self._wake.clear()
        except BaseException as error:  # handed to the waiting test rather than lost in this thread
            self._ready.put(error)
        finally:
            engine.dispose()

    def _drop_used(self) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        try:
            while (name := self._to_drop.get()) is not None:
                try:
                    self._drop_now(engine, name)
                except Exception:  # a copy left behind goes with the throwaway cluster; the next drops must not stop
                    continue
        finally:
            engine.dispose()

    def close(self) -> None:
        if self._copier is not None:
            self._stopping = True
            self._wake.set()
            self._copier.join(timeout=120)
            self._to_drop.put(None)
            self._dropper.join(timeout=120)
            while not self._ready.empty():
                ready = self._ready.get_nowait()
                if isinstance(ready, str):
                    self._drop_now(self.engine, ready)
        self._drop_now(self.engine, self.template)
        self.engine.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database(request) -> str:
    """Which database the test runs on: "sqlite" or "postgresql"."""
    return request.param


@pytest.fixture(scope="session")
def template_db(database, tmp_path_factory):
    """A database migrated to head with the 2024 campaign and demo accounts, built once:
    a SQLite file (a Path), or a template database on the PostgreSQL server."""
    instance = tmp_path_factory.mktemp(f"template-instance-{database}-{WORKER}")
    server = PostgresServer(POSTGRES_URL) if database == "postgresql" else None
    app = _make_app(instance, server.create_template() if server else None)
    runner = app.test_cli_runner()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = runner.invoke(args=["campaign", "load", str(CAMPAIGN_FILE)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if server is None:
        yield instance / "qmonth.db"
        return
    yield server
    server.close()


@pytest.fixture
def instance_dir(tmp_path) -> Path:
    instance = tmp_path / "instance"
    instance.mkdir()
    return instance


@pytest.fixture
def database_url(request, database, template_db, instance_dir) -> str:
    """The URL of this test's own copy of the template database."""
    if isinstance(template_db, Path):
        marker = request.node.get_closest_marker("postgresql_only")
        if marker:
            pytest.skip(f"PostgreSQL only: {marker.args[0]}")
        shutil.copyfile(template_db, instance_dir / "qmonth.db")
        yield f"sqlite:///{instance_dir / 'qmonth.db'}"
        return
    marker = request.node.get_closest_marker("sqlite_only")
    if marker:
        pytest.skip(f"SQLite only: {marker.args[0]}")
    name = template_db.copy_template()
    yield template_db.url_of(name)
    template_db.drop(name)


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (its own `g` and db session), as in
    production, even though the test itself holds one open for its assertions."""

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)

    # Werkzeug's client works the request's whole URL out twice per request, only to match its
    # cookies' host and path, and unquotes the query string to do it: 9% of the route fuzzer's
    # time, whose queries carry values of up to 200,000 characters. Both read the same host and
    # path from the request without its query string; the app still gets the query string whole.
    def _add_cookies_to_wsgi(self, environ):
        without_query = {**environ, "QUERY_STRING": ""}
        super()._add_cookies_to_wsgi(without_query)
        environ.pop("HTTP_COOKIE", None)
        if "HTTP_COOKIE" in without_query:
            environ["HTTP_COOKIE"] = without_query["HTTP_COOKIE"]

    def run_wsgi_app(self, environ, buffered=False):
        self._add_cookies_to_wsgi(environ)
        answer = run_wsgi_app(self.application, environ, buffered=buffered)
        url = urlsplit(get_current_url({**environ, "QUERY_STRING": ""}))
        self._update_cookies_from_response(url.hostname or "localhost", url.path, answer[2].getlist("Set-Cookie"))
        return answer


def app_in_context(instance: Path, database_url: str | None = None, **settings):
    """An app with isolated test clients, inside its app context, closed afterwards: the body
    of every `app` fixture (`yield from app_in_context(...)`)."""
    app = _make_app(instance, database_url, **settings)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(instance_dir, database_url):
    yield from app_in_context(instance_dir, database_url)


@pytest.fixture(scope="module")
def module_app(database, template_db, tmp_path_factory):
    """One app and database for a whole module: for tests that only read, and whose
    set-up costs more than their requests (GET routes change nothing in the database:
    tests/robustness/test_get_is_safe.py proves it for every one)."""
    instance = tmp_path_factory.mktemp("module-instance")
    if isinstance(template_db, Path):
        shutil.copyfile(template_db, instance / "qmonth.db")
        yield from app_in_context(instance)
        return
    name = template_db.copy_template()
    yield from app_in_context(instance, template_db.url_of(name))
    template_db.drop(name)


@pytest.fixture
def app_without_database(instance_dir):
    """An app for tests of settings, logs or rendering that never open the database: it
    runs once, not once per database, and its SQLite file is never created."""
    app = _make_app(instance_dir)
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()




@pytest.fixture
def login_as(client):
    """Log the test client in through the real login form."""

    def login(username: str, password: str = DEMO_PASSWORD):
        page = client.get("/login")
        if page.status_code == 302:  # someone is logged in already: log out first
            client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
            page = client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, f"login as {username} failed"
        return client

    return login


@pytest.fixture
def user_named(app):
    from qmonth.models import User

    def find(username: str) -> User:
        return db.session.scalar(select(User).where(User.username == username))

    return find


@pytest.fixture
def csrf_token(client):
    """A valid CSRF token for the client's session (read from a real page)."""

    def token(path: str = "/login") -> str:
        return csrf_token_from(client.get(path).get_data(as_text=True))

    return token


# Real-browser fixtures ---------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Every window of Chromium 156 (Playwright opens one per context) builds the omnibox's WebUI
# popups in two renderers of their own, though a headless window has no omnibox to show them
# in: 0.35 s of CPU per context, two thirds of what a context with a page costs, and about a
# fifth of the suite's CPU in all. The pages under test are not affected.
OMNIBOX_WEBUI = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")
_launch_args: list[str] = []


def chromium_args(playwright, *extra: str) -> list[str]:
    """CHROMIUM_ARGS, with the omnibox's WebUI switched off, then `extra`.

    Chromium keeps only the last --disable-features on its command line, and Playwright passes
    its own list first; so the list given here is Playwright's (read once off a browser it
    launched) with OMNIBOX_WEBUI added, and Playwright's choices still hold.
    """
    if not _launch_args:
        probe = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            disabled = [name for argv in _browser_processes() for arg in argv
                        if arg.startswith("--disable-features=") for name in arg.split("=", 1)[1].split(",")]
        finally:
            probe.close()
        names = list(dict.fromkeys([*disabled, *OMNIBOX_WEBUI]))
        _launch_args.extend([*CHROMIUM_ARGS, "--disable-features=" + ",".join(names)])
    return [*_launch_args, *extra]


def _browser_processes() -> list[list[str]]:
    """The command lines of the Chromium browser processes this process started (through
    Playwright's driver), not their renderers or helpers."""
    children: dict[int, list[int]] = {}
    argvs: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argvs[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        argv = argvs.get(pid, [])
        if argv and argv[0].endswith("/chromium") and not any(arg.startswith("--type=") for arg in argv):
            found.append(argv)
    return found


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright, for tests that launch Chromium themselves (own profile, flags or HOME)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("QMONTH_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail("Chromium is missing: scripts/test installs it with apt-get")
        pytest.skip("Chromium not installed (run scripts/test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """Debian's Chromium through Playwright; never a downloaded browser."""
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=chromium_args(playwright_driver))
    yield browser
    browser.close()


@pytest.fixture
def live_server(instance_dir, database_url):
    """The app served on a loopback port in a thread, for the browser."""
    from werkzeug.serving import make_server

    app = _make_app(instance_dir, database_url)
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


@pytest.fixture
def page_at(browser):
    """A fresh browser context at a given viewport; console errors are collected.

    A test that intercepts requests with `page.route` blocks the service worker: once the worker
    controls the page (127.0.0.1 is a secure context), Chromium sends the page's requests through
    it and `page.route` no longer sees them.
    """
    contexts = []

    def open_page(width: int = 1280, height: int = 800, *, service_workers: str = "allow"):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                      service_workers=service_workers)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        return page

    yield open_page
    for context in contexts:
        context.close()


def browser_login(page, server, username: str, password: str = DEMO_PASSWORD):
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


# Activities --------------------------------------------------------------------

@pytest.fixture
def make_activity(app):
    """Build an activity straight in the database (state and times set directly)."""
    from datetime import date, datetime, timezone

    from qmonth.models import Activity, ActivityKind, ActivityState, Campaign, Task, Unit, User

    def make(unit_code: str = "jinan-zj", *, title: str = "质量安全讲堂", kind: str = "training",
             state: ActivityState = ActivityState.DRAFT, tasks=(2,), **fields) -> Activity:
        campaign = db.session.scalar(select(Campaign).where(Campaign.is_active))
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        author = fields.pop("author", None) or db.session.scalar(select(User).where(User.username == unit_code))
        values = dict(
            organiser=unit.name, starts_on=date(2024, 9, 10), ends_on=date(2024, 9, 10),
            county="历下区", address="经十路 100 号", participants=120, description="组织开展培训。",
            results="提升了质量意识。", contact_name="张明", contact_phone="0531-88886666",
            no_fee_declared=True, figures={},
        )
        values.update(fields)
        activity = Activity(
            campaign=campaign, unit=unit, author=author, title=title, state=state,
            kind=db.session.scalar(select(ActivityKind).where(ActivityKind.code == kind)),
            tasks=list(db.session.scalars(select(Task).where(Task.number.in_(tasks)))), **values,
        )
        if state is not ActivityState.DRAFT:
            activity.submitted_at = datetime(2024, 9, 20, 2, 0, tzinfo=timezone.utc)
        db.session.add(activity)
        db.session.commit()
        return activity

    return make
