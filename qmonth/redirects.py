"""The one check for a redirect target that came with the request (a `next` field or parameter,
or the Referer header)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_local_path(target: str | None) -> str | None:
    """The target if it is a path on this site, else None: a form or link cannot bounce users elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def referrer_on_this_site(path: str | None = None) -> str | None:
    """The page the request came from if it is on this site (and at `path`, when given), else None."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    if path is not None and parts.path != path:
        return None
    return referrer
