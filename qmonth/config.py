"""Settings: defaults, then instance/config.py, then QMONTH_* variables, then overrides."""
import os
import secrets
from pathlib import Path

ENV_PREFIX = "QMONTH_"


def default_settings(instance_path: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path / 'qmonth.db'}",
        "UPLOAD_DIR": str(instance_path / "uploads"),
        "TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # How many reverse proxies sit in front (their X-Forwarded-For/Proto are then trusted).
        "PROXY_FIX": 0,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # A sign-in ends after this long without a request, or this long after it began (auth/sessions.py).
        "SESSION_IDLE_MINUTES": 120,
        "SESSION_MAX_HOURS": 12,
        # Request bodies (see qmonth/bodysize.py): small by default, since a url-encoded body
        # is parsed whole before login; larger only for multipart uploads of signed-in users
        # on the routes marked @accepts_uploads (a 100 MB video plus the form around it).
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_UPLOAD_CONTENT_LENGTH": 120 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,  # one text field of a multipart form
        "MAX_FORM_PARTS": 1000,
        "CAMPAIGN_DIR": str(Path(__file__).parent / "campaigns"),
    }


# Environment names that map onto Flask/SQLAlchemy keys of another name.
ENV_ALIASES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
}


def settings_from_env(environ: os._Environ | dict) -> dict:
    """QMONTH_FOO=bar becomes FOO='bar' (QMONTH_DATABASE_URL the SQLAlchemy URI)."""
    found = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):]
        found[ENV_ALIASES.get(key, key)] = _coerce(value)
    return found


def _coerce(value: str):
    lowered = value.strip().lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    return value


def load_or_create_secret_key(instance_path: Path) -> str:
    """A random key generated once and kept in instance/, so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must not both write a different key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
