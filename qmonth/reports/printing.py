"""HTML to PDF with WeasyPrint: a fetcher that reads only our files, a cache, what a job needs.

* Safe: the fetcher (qmonth/reports/fetcher.py) serves qmonth's static files (by
  path, inside the static folder) and the print copies of the photos the document
  itself shows; every other URL — file:, http:, data:, another photo — is refused
  and recorded.
* Reproducible: the same data gives the same bytes. The HTML carries fixed
  dates (the data's latest update), the PDF identifier is derived from the
  fingerprint, and WeasyPrint adds nothing time- or run-dependent.
* One click: the PDF is cached as <fingerprint>.pdf in the PDF cache store
  (instance/cache/reports, or cache/reports/ in the object store; see
  qmonth/storage.py), where the fingerprint covers the HTML, the photo files and
  the stylesheets and fonts. A large document is rendered by a background job
  (qmonth/reports/tasks.py) into a local temporary file that goes into the store
  whole when complete.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from ..fontcoverage import printable
from ..storage import LocalStorage

if TYPE_CHECKING:
    from weasyprint.text.fonts import FontConfiguration

    from .fetcher import SafeFetcher

# WeasyPrint itself (half a second to import) is imported by the first render: a process that
# never prints (a web worker, most commands) starts without it.
WEASYPRINT_VERSION = version("weasyprint")
# Relative URLs in the print HTML resolve against this origin; .invalid never resolves.
BASE_URL = "https://qmonth.invalid/"
# Bump when a template or print.css change must not reuse PDFs cached before it.
RENDER_VERSION = "2"  # 2: characters no bundled font has print as 〓
MAX_CACHED_FILES = 300
MAX_CACHED_BYTES = 2 * 1024 ** 3  # photo-heavy PDFs run to tens of MB each

# WeasyPrint shares Pango/fontconfig state between threads: one render at a time per process.
_render_lock = threading.Lock()
# One fontconfig set-up for every render of this process (used under _render_lock). WeasyPrint
# makes a new one per document unless given one: it then wrote the stylesheet's CJK fonts (75 MB)
# to a temporary folder and had fontconfig scan them again, 0.7-1.2 s of every PDF; kept, the demo's
# 济南 report renders in 0.1 s after the first, to the same bytes (see bench/README.md). The fonts
# stay in that folder while the process lives.
_font_config: FontConfiguration | None = None


@dataclass
class PrintDocument:
    """Everything needed to print one document, resolved while the data is at hand."""

    html: str
    download_name: str
    static_folder: str
    # Photo id → key of its print copy in `photo_store` (or a local path when there is no store).
    photo_files: dict[int, Path | str] = field(default_factory=dict)
    photo_store: object = None
    # (photo id, content hash): the files are part of the fingerprint, not only their URLs.
    photo_keys: list[tuple[int, str]] = field(default_factory=list)
    pages_hint: int = 1

    def fetcher(self) -> SafeFetcher:
        from .fetcher import SafeFetcher

        return SafeFetcher(self.static_folder, self.photo_files, self.photo_store)

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (RENDER_VERSION, WEASYPRINT_VERSION, _assets_stamp(self.static_folder)):
            digest.update(part.encode() + b"\0")
        for photo_id, key in self.photo_keys:
            digest.update(f"{photo_id}:{key}\0".encode())
        digest.update(self.html.encode("utf-8"))
        return digest.hexdigest()

    @property
    def estimated_seconds(self) -> float:
        """A rough forecast from measured runs (bench/bench_reports.py): fonts, layout, photos."""
        return 0.5 + 0.012 * len(self.photo_files) + len(self.html) / 150_000


def _assets_stamp(static_folder: str) -> str:
    """Name, size and mtime of the stylesheets and fonts a PDF is made with (cheap to read)."""
    root = Path(static_folder)
    entries = []
    for sub in ("css", "fonts"):
        folder = root / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                stat = path.stat()
                entries.append(f"{sub}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(entries)


def renderer_busy() -> bool:
    """Whether this process is rendering now (a new request should not queue behind it)."""
    return _render_lock.locked()


def render_pdf(document: PrintDocument, target=None, *, fetcher: SafeFetcher | None = None):
    """Render to bytes (target None) or into a file or file object."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fetcher = fetcher or document.fetcher()
    global _font_config
    with _render_lock:
        # No glyph may be missing: WeasyPrint would then embed that font with a custom
        # encoding pypdf and pdfminer cannot read (text stored before the input check).
        html = HTML(string=printable(document.html), base_url=BASE_URL, url_fetcher=fetcher)
        if _font_config is None:
            _font_config = FontConfiguration()
        return html.write_pdf(target, uncompressed_pdf=False, font_config=_font_config,
                              pdf_identifier=document.fingerprint[:32].encode("ascii"))


# The cache ---------------------------------------------------------------------------

def cache_dir(instance_path: str | Path) -> Path:
    """The local folder of the cache (and of the render locks, whatever the store)."""
    folder = Path(instance_path) / "cache" / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cache_store(cache):
    """A store as given, or the local cache folder of an instance path (benchmarks, old callers)."""
    if isinstance(cache, (str, Path)):
        return LocalStorage(cache_dir(cache))
    return cache


def cache_key(fingerprint: str) -> str:
    return f"{fingerprint}.pdf"


def cached_pdf(document: PrintDocument, cache) -> str | None:
    """The key of the cached PDF in the cache store, or None."""
    store = _cache_store(cache)
    key = cache_key(document.fingerprint)
    return key if store.exists(key) else None


def build_pdf(document: PrintDocument, cache) -> str:
    """Render into the cache (local temporary file, then into the store whole); return its key."""
    store = _cache_store(cache)
    key = cache_key(document.fingerprint)
    if store.exists(key):
        return key
    temp = store.scratch_path(key)
    try:
        render_pdf(document, str(temp))
        store.put_file(key, temp)
    finally:
        temp.unlink(missing_ok=True)
    _prune(store)
    return key


def _prune(store) -> None:
    """Keep the newest cached PDFs within a count and a size; older fingerprints are old data."""
    entries = [item for item in store.list() if item.key.endswith(".pdf") and "/" not in item.key]
    entries.sort(key=lambda item: item.modified, reverse=True)
    total = 0
    for index, item in enumerate(entries):
        total += item.size
        if index >= MAX_CACHED_FILES or (index > 0 and total > MAX_CACHED_BYTES):
            store.delete(item.key)


# Jobs -----------------------------------------------------------------------------------

def document_payload(document: PrintDocument) -> dict:
    """What a job needs to print the document on any machine (JSON): the HTML, the photo keys
    and the fingerprint it was asked under, so the PDF lands where the asking node looks."""
    return {
        "html": document.html,
        "download_name": document.download_name,
        "photo_files": {str(photo_id): str(key) for photo_id, key in document.photo_files.items()},
        "photo_keys": [[photo_id, key] for photo_id, key in document.photo_keys],
        "fingerprint": document.fingerprint,
    }


def document_from_payload(payload: dict, static_folder: str, photo_store) -> PrintDocument:
    document = PrintDocument(
        html=payload["html"], download_name=payload["download_name"], static_folder=static_folder,
        photo_files={int(photo_id): key for photo_id, key in payload["photo_files"].items()},
        photo_store=photo_store, photo_keys=[(int(photo_id), key) for photo_id, key in payload["photo_keys"]])
    # The asking node's fingerprint (its asset mtimes may differ from this machine's).
    document.__dict__["fingerprint"] = payload["fingerprint"]
    return document
