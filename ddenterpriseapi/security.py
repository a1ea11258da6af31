"""Browser-facing protections: security headers, and a session cookie that is Secure whenever served over https."""

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self' https: http://localhost:* http://127.0.0.1:*",  # Authorize posts, then redirects out
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
))


class SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure when the request came over https (directly or through a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def add_security_headers(response: Response) -> Response:
    """Headers every response carries."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Authorization codes and states sit in the callback's query string: never send them to another site.
    # (Same-origin Referers stay: Flask-WTF checks them on https.)
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        headers.setdefault("Cache-Control", "no-store")
    return response


def init(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(add_security_headers)
