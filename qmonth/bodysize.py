"""How request bodies are read: small everywhere, larger only where files are uploaded.

A url-encoded body is read and split into fields at once, before any view or login check
runs (the CSRF check reads the form), so its size is what a worker spends in memory —
several times over. Multipart bodies are streamed: files go to temporary files and
each text part is capped by MAX_FORM_MEMORY_SIZE, so only they may be large, and only
on the routes that take files, for a signed-in user.
"""
from __future__ import annotations

from flask import Request, current_app, has_request_context, request
from flask_login import current_user


UPLOAD_MIMETYPES = ("multipart/form-data", "application/offset+octet-stream")


def accepts_uploads(view):
    """Mark a view that takes files: its multipart bodies may reach MAX_UPLOAD_CONTENT_LENGTH."""
    view.accepts_uploads = True
    return view


class BodySizeRequest(Request):
    """The request class of the app: the body limit depends on the route (see accepts_uploads)."""

    @property
    def max_content_length(self) -> int | None:
        """MAX_UPLOAD_CONTENT_LENGTH where uploads are taken, else Flask's (MAX_CONTENT_LENGTH)."""
        if self._max_content_length is None and self._may_upload():
            return current_app.config["MAX_UPLOAD_CONTENT_LENGTH"]
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _load_form_data(self) -> None:
        """Drop multipart parts that came without a name (a line break inside the name ends the
        header early): Werkzeug keys them None, and Flask-WTF's CSRF check, which reads every
        key before login, would fail on them with a 500."""
        super()._load_form_data()
        for name in ("form", "files"):
            fields = self.__dict__[name]
            if None in fields:
                self.__dict__[name] = type(fields)((k, v) for k, v in fields.items(multi=True) if k is not None)

    def _may_upload(self) -> bool:
        """A multipart body, or a piece of a resumable upload (qmonth/photos/resumable.py, which
        bounds it by the photo's declared length), from a signed-in user to a route marked
        @accepts_uploads."""
        if self.mimetype not in UPLOAD_MIMETYPES or self.url_rule is None or not has_request_context():
            return False
        view = current_app.view_functions.get(self.url_rule.endpoint)
        return getattr(view, "accepts_uploads", False) and current_user.is_authenticated


def too_large_message() -> str:
    """The 413 message: the body's limit when the body was too large, else one field was too long."""
    limit = request.max_content_length
    if limit is not None and (request.content_length is None or request.content_length > limit):
        return f"提交的内容过大（不能超过 {limit / (1024 * 1024):g} MB），请删减内容或缩小文件后重试。"
    return "填写的内容过长，请删减后重试。"
