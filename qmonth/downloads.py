"""The one Content-Disposition header for every download (exports, attachments, PDF, Word, ZIP)."""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Response, send_file


def content_disposition(name: str, extension: str, *, ascii_stem: str | None = None) -> str:
    """attachment; an ASCII fallback plus the UTF-8 name (RFC 6266/5987); no quotes or breaks leak.
    The ASCII fallback is the name with everything else replaced, unless the caller has a better one."""
    stem = name.rsplit(".", 1)[0] if name.lower().endswith("." + extension) else name
    utf8_name = f"{stem}.{extension}"
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem or stem).strip("._") or "file"
    return f"attachment; filename=\"{ascii_stem}.{extension}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"


def send_download(path_or_file, *, mimetype: str, name: str, extension: str, **send_file_options) -> Response:
    """send_file, always as a download named by content_disposition (never Werkzeug's own header)."""
    response = send_file(path_or_file, mimetype=mimetype, **send_file_options)
    response.headers["Content-Disposition"] = content_disposition(name, extension)
    return response
