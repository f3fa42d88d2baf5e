"""What the phone's outbox (static/js/outbox.js) asks before it sends, and the service worker
(static/sw.js) that lets quick entry open with no network over HTTPS.

The outbox keeps entries and photos in IndexedDB and sends them when it can. Before each round
it asks who is signed in and for a fresh CSRF token: a page opened from the service worker's
cache, or left open across a new sign-in, carries a stale one; and an entry is sent only under
the account that made it (site phones are shared).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app, jsonify, make_response, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..main import bp as main_bp
from . import bp

# What quick entry needs to open offline, besides the page itself.
SHELL_STATIC = ("css/fonts.css", "css/app.css", "css/activity.css", "vendor/htmx-2.0.11.min.js", "js/page.js",
                "js/photo-prep.js", "js/resumable.js", "js/outbox.js", "js/outbox-entry.js",
                "favicon.svg")


@bp.get("/outbox/session")
@login_required
def outbox_session():
    """Who is signed in and a CSRF token for this session (never cached)."""
    response = jsonify(ok=True, user_id=current_user.id, csrf=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@main_bp.get("/sw.js")
def service_worker():
    """The service worker, served at the root so that its scope is the whole site. Its version is
    a hash of the shell it caches: a deploy that changes any of it installs a new worker, which
    replaces the old cache (queued entries live in IndexedDB, never in that cache)."""
    static = Path(current_app.static_folder)
    source = (static / "sw.js").read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode("utf-8"))
    for name in SHELL_STATIC:
        digest.update((static / name).read_bytes())
    digest.update(str(current_app.config.get("SERVICE_WORKER_BUILD", "")).encode("utf-8"))
    shell = [url_for("activities.quick")] + [url_for("static", filename=name) for name in SHELL_STATIC]
    body = (source.replace('"__QMONTH_VERSION__"', json.dumps(digest.hexdigest()[:16]))
            .replace('["__QMONTH_SHELL__"]', json.dumps(shell)))
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
