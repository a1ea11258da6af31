"""Every page requires a logged-in administrator unless its view is marked login-exempt."""

from urllib.parse import urlsplit

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import Admin


def login_exempt(view):
    """Mark a view as reachable without a session (login, setup, OAuth redirect, key-authenticated API)."""
    view.login_exempt = True
    return view


@login_manager.user_loader
def load_admin(session_id: str) -> Admin | None:
    """The administrator of a session, unless the session predates a password change."""
    admin_id, _, version = session_id.partition(":")
    admin = db.session.get(Admin, int(admin_id)) if admin_id.isdigit() else None
    return admin if admin is not None and str(admin.session_version) == version else None


def require_login():
    """Send anonymous visitors of protected views to the login page."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static" or getattr(view, "login_exempt", False):
        return None
    if current_user.is_authenticated:
        return None
    return redirect(url_for("auth.login", next=request.script_root + request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str | None:
    """The target if it stays on this console (a path), None otherwise: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
