"""The security log: one line per login, refused access, CSRF failure or refused upload.

A plain append-only text file (instance/security.log by default, SECURITY_LOG to move it),
written with O_APPEND so lines from several gunicorn workers never interleave, and opened
for each line so logrotate can move the file away without a restart. Values are escaped,
so a user name or path with a line break cannot forge a second line.
"""
from __future__ import annotations

import os
from datetime import timezone

from flask import current_app, has_request_context, request
from flask_login import current_user

from .timeutil import utcnow

VALUE_MAX = 300


def security_event(event: str, *, username: str | None = None, unit: str | None = None, **details) -> None:
    """Append one line: time (UTC), event, user, unit, address, method, path, then the details."""
    fields = {"event": event}
    user = _signed_in_user()
    fields["user"] = username if username is not None else (user.username if user else "-")
    fields["unit"] = unit if unit is not None else (user.unit.code if user and user.unit else "-")
    if has_request_context():
        fields["addr"] = request.remote_addr or "-"
        fields["method"] = request.method
        fields["path"] = request.full_path.rstrip("?")
    fields.update({key: str(value) for key, value in details.items()})
    stamp = utcnow().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = stamp + " " + " ".join(f"{key}={escape_value(value)}" for key, value in fields.items()) + "\n"
    try:
        fd = os.open(log_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:  # a full disk must not turn a login into a server error
        current_app.logger.exception("could not write the security log")


def log_path() -> str:
    return current_app.config.get("SECURITY_LOG") or os.path.join(current_app.instance_path, "security.log")


def escape_value(value: str) -> str:
    """One token per value: quoted when it has spaces, every control character as an escape."""
    value = value[:VALUE_MAX]
    out = []
    for char in value:
        if char == "\\" or char == '"':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F or char in "\u2028\u2029\u0085":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    escaped = "".join(out)
    if not escaped or any(char.isspace() for char in escaped) or "=" in escaped:
        return f'"{escaped}"'
    return escaped


def _signed_in_user():
    if not has_request_context():
        return None
    try:
        if current_user.is_authenticated:
            return current_user._get_current_object()
    except Exception:  # no login manager yet (an error before it ran)
        return None
    return None
