"""qmonth: the provincial "Quality Month" campaign app."""
from pathlib import Path

from flask import Flask

from .bodysize import BodySizeRequest
from .config import default_settings, load_or_create_secret_key, settings_from_env
from .extensions import csrf, db, login_manager, migrate
from .parsing import IdConverter

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: defaults < instance/config.py < QMONTH_* env < overrides."""
    overrides = dict(overrides or {})
    instance_path = Path(overrides.pop("INSTANCE_PATH", ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any blueprint adds its routes: every <int:…> in a path is then a bounded id.
    app.url_map.converters["int"] = IdConverter
    app.request_class = BodySizeRequest
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.update(default_settings(instance_path))
    app.config.from_pyfile(str(instance_path / "config.py"), silent=True)
    app.config.update(settings_from_env(_environ()))
    app.config.update(overrides)
    if app.config.get("DEMO_CLOCK"):
        from .timeutil import demo_clock_offset

        app.config["CLOCK_OFFSET"] = demo_clock_offset(app.config["DEMO_CLOCK"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(instance_path)
        if str(app.config.get("STORAGE") or "").strip().lower() == "s3":
            # Object storage means several machines, each of which would sign with a key of its own.
            app.logger.warning("STORAGE=s3 but the secret key was generated in %s: set QMONTH_SECRET_KEY to "
                               "one value on every machine, or a request reaching another machine signs the "
                               "user out", instance_path)
    from . import storage

    storage.init_app(app)  # the upload folder or the object store, checked before anything runs
    from . import jobs

    jobs.init_app(app)  # the job queue: threads of this process, or RQ when REDIS_URL is set

    _init_proxy_and_cookies(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    _init_login(app)
    _init_database_pragmas(app)
    _init_database_guards(app)

    from . import errors, security, static_files, templating
    from .audit.hooks import register as register_audit_hooks
    from .board.hooks import register as register_board_hooks

    _register_blueprints(app)
    errors.register(app)
    security.register(app)
    static_files.register(app)
    templating.register(app)
    register_board_hooks(app)
    register_audit_hooks(app)

    from .cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """Each feature's blueprint lives in its package's __init__.py; importing the views modules
    adds their routes to it (the campaign pages and the audit log hang on the board's and the
    admin's blueprints, keeping their URLs and endpoint names)."""
    from . import activities, admin, auth, board, main, photos, reports, reviews
    from .activities import listing_views, outbox as activities_outbox, views as activities_views  # noqa: F401 (routes)
    from .admin import units_views, views as admin_views  # noqa: F401
    from .audit import views as audit_views  # noqa: F401
    from .auth import views as auth_views  # noqa: F401
    from .board import views as board_views  # noqa: F401
    from .campaigns import views as campaigns_views  # noqa: F401
    from .main import views as main_views  # noqa: F401
    from .photos import views as photos_views  # noqa: F401
    from .reports import views as reports_views  # noqa: F401
    from .reviews import views as reviews_views  # noqa: F401

    from .reports import tasks as reports_tasks  # noqa: F401 (the report jobs)

    for feature in (main, auth, admin, activities, reviews, reports, photos, board):
        app.register_blueprint(feature.bp)


def _environ():
    import os

    return os.environ


def _init_proxy_and_cookies(app: Flask) -> None:
    """Behind a reverse proxy (PROXY_FIX = how many), trust its X-Forwarded-* headers for the
    client address and scheme; cookies are Secure whenever the request came over HTTPS."""
    from .security import SecureOverHttpsSessionInterface

    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    app.session_interface = SecureOverHttpsSessionInterface()


def _init_login(app: Flask) -> None:
    from .auth import sessions
    from .auth.services import load_user_from_session_id

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_from_session_id)
    # Before every other hook that looks at the user: an expired session is signed out first.
    sessions.register(app)


def _init_database_guards(app: Flask) -> None:
    """Every database: no NUL character in a bound text value (see qmonth/textnorm.py)."""
    from sqlalchemy import event

    from .textnorm import refuse_nul_parameters

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", refuse_nul_parameters)
        if db.engine.dialect.name == "postgresql":
            from .activities.pgsearch import plan_searches_on_their_index

            plan_searches_on_their_index(db.engine)


def _init_database_pragmas(app: Flask) -> None:
    """SQLite: enforce foreign keys, wait for locks, and take the write lock when a write begins."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _set_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA journal_mode=WAL")
            # An acknowledged entry must survive a power cut, not only a crash of the app.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA cache_size=-32000")  # 32 MB: list searches scan every activity
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            driver = connection.connection.driver_connection
            statement = _begin_statement()
            if statement is None:
                driver.isolation_level = ""  # the driver's own habit: BEGIN just before the first write
                return
            driver.isolation_level = None  # no implicit BEGIN: ours below is the only one
            connection.exec_driver_sql(statement)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _begin_statement() -> str | None:
    """BEGIN IMMEDIATE for requests that write and for commands; a plain BEGIN for page views.

    WAL and busy_timeout are not enough for several gunicorn workers: a deferred
    transaction reads first and asks for the write lock at its first INSERT, and
    when another worker holds it SQLite fails at once with "database is locked"
    instead of waiting (the reader's snapshot would be stale). BEGIN IMMEDIATE takes
    the write lock up front, where busy_timeout makes it wait its turn. Page views
    stay deferred so that readers never queue behind writers.

    Anywhere else (flask shell, scripts, a test's own session) None keeps the
    driver's default of running reads outside any transaction: a session that
    lingers there must neither hold the write lock nor keep reading an old snapshot.
    """
    from flask import has_request_context, request

    if has_request_context():
        return "BEGIN" if request.method in SAFE_METHODS else "BEGIN IMMEDIATE"
    import click

    if click.get_current_context(silent=True) is not None:
        return "BEGIN IMMEDIATE"
    return None
