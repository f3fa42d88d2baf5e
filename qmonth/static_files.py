"""Static files under fingerprinted URLs, kept by the browser until they change.

Every `url_for("static", filename=...)` carries `?v=` and the first 12 hex digits of the file's
SHA-256, and a request whose `v` is the file's current fingerprint is answered as cacheable for a
year, immutable. Before, every page asked again for each of its styles and scripts (eight
conditional requests, each a round trip: seconds on a site phone's weak link); now a page loads
them from the browser's cache, and a deploy that changes a file changes its URL.

Any other request for a static file (no `v`, an earlier one, the fonts that fonts.css names)
keeps Flask's answer: `no-cache` with an ETag, so it is checked each time.
"""
from __future__ import annotations

import hashlib
import os
from stat import S_ISREG

from flask import Flask, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"


class Fingerprints:
    """Each static file's fingerprint, computed again when its size or modification time changes."""

    def __init__(self, folder: str):
        self.folder = folder
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def of(self, filename: str) -> str | None:
        """The file's fingerprint, or None when there is no such file."""
        path = safe_join(self.folder, filename)
        try:
            stat = os.stat(path) if path else None
        except OSError:
            return None
        if stat is None or not S_ISREG(stat.st_mode):
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        known = self._known.get(filename)
        if known is not None and known[0] == key:
            return known[1]
        with open(path, "rb") as file:
            fingerprint = hashlib.file_digest(file, "sha256").hexdigest()[:12]
        self._known[filename] = (key, fingerprint)
        return fingerprint


def register(app: Flask) -> None:
    fingerprints = Fingerprints(app.static_folder)

    @app.url_defaults
    def fingerprint_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            fingerprint = fingerprints.of(str(values.get("filename", "")))
            if fingerprint:
                values["v"] = fingerprint

    @app.after_request
    def keep_fingerprinted_files(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            asked = request.args.get("v")
            if asked and asked == fingerprints.of(str((request.view_args or {}).get("filename", ""))):
                response.headers["Cache-Control"] = IMMUTABLE
                response.headers.pop("Expires", None)
        return response
