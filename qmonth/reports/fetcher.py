"""The URL fetcher of WeasyPrint's renders (qmonth/reports/printing.py): it reads only our files.

It serves qmonth's static files (by path, inside the static folder) and the print copies of the
photos the document itself shows; every other URL (file:, http:, data:, another photo) is refused
and recorded. Apart from printing.py because it subclasses WeasyPrint's fetcher, and WeasyPrint is
imported only by a process that prints.
"""
from __future__ import annotations

import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

from .printing import BASE_URL

logger = logging.getLogger("qmonth.reports.printing")


class FetchRefused(ValueError):
    """A URL the document may not load."""


class _FileResponse(URLFetcherResponse):
    """A response backed by a local file; `path` lets WeasyPrint read image bytes lazily."""

    def __init__(self, url: str, path: Path, content_type: str):
        super().__init__(url, body=open(path, "rb"), headers={"Content-Type": content_type})
        self._local_path = str(path)

    @property
    def path(self):
        return self._local_path


@dataclass(frozen=True)
class StoredPhoto:
    """A photo's print copy in an object store (no local file to point WeasyPrint at)."""

    store: object
    key: str


class SafeFetcher(URLFetcher):
    """Serves /static/<path> from the static folder and /photos/<id>/print.jpg of allowed photos only.

    `photo_files` maps photo ids to local paths, or, with `store`, to keys in that store.
    """

    def __init__(self, static_folder: str | Path, photo_files: dict[int, Path | str], store=None):
        super().__init__(allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)
        self.static_folder = str(static_folder)
        self.photo_files = dict(photo_files)
        self.store = store
        self.fetched: list[str] = []
        self.refused: list[str] = []

    def resolve(self, url: str) -> Path | StoredPhoto | None:
        """The local file (or the stored object) for an allowed URL, or None."""
        if not url.startswith(BASE_URL):
            return None
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            return None
        path = unquote(parts.path)
        if path.startswith("/static/"):
            joined = safe_join(self.static_folder, path[len("/static/"):])
            if joined is not None and os.path.isfile(joined):
                return Path(joined)
            return None
        segments = path.split("/")
        if len(segments) == 4 and segments[1] == "photos" and segments[3] == "print.jpg" and segments[2].isdigit():
            found = self.photo_files.get(int(segments[2]))
            if found is None:
                return None
            if self.store is None:
                return found if Path(found).is_file() else None
            local = self.store.local_path(found)
            if local is None:
                return StoredPhoto(self.store, found)
            return local if local.is_file() else None
        return None

    def fetch(self, url, headers=None):
        local = self.resolve(url)
        if local is None:
            self.refused.append(url)
            logger.warning("print: refused to fetch %r", url[:200])
            raise FetchRefused(f"refused: {url[:200]}")
        if isinstance(local, StoredPhoto):
            try:
                data = local.store.read_bytes(local.key)
            except FileNotFoundError:
                self.refused.append(url)
                raise FetchRefused(f"missing: {url[:200]}") from None
            self.fetched.append(url)
            return URLFetcherResponse(url, body=data, headers={"Content-Type": "image/jpeg"})
        self.fetched.append(url)
        content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        if local.suffix.lower() == ".otf":
            content_type = "font/otf"
        return _FileResponse(url, local, content_type)
