"""Response headers that every page carries."""
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register(app) -> None:
    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if current_user.is_authenticated and request.endpoint != "static":
            # Views that set their own policy (photos keyed by content hash) keep it.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class SecureOverHttpsSessionInterface(SecureCookieSessionInterface):
    """The session cookie gets `Secure` when the request came over HTTPS (directly, or through a
    proxy that ProxyFix trusts), so one setting serves both the plain intranet and HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure
