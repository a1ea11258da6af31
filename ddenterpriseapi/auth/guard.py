"""Every page requires a logged-in administrator unless its view is marked login-exempt."""

from urllib.parse import urlsplit

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from ..audit import Actor
from ..extensions import login_manager
from ..models import Admin
from .sessions import Limits, resume_session


def login_exempt(view):
    """Mark a view as reachable without a session (login, setup, OAuth redirect, key-authenticated API)."""
    view.login_exempt = True
    return view


@login_manager.user_loader
def load_admin(token: str) -> Admin | None:
    """The administrator of the session whose token the cookie carries, while its record lives."""
    return resume_session(token, session_limits())


def session_limits() -> Limits:
    """The configured idle and absolute lifetimes of a login session."""
    return Limits(idle=current_app.config["SESSION_IDLE_TIMEOUT"], absolute=current_app.permanent_session_lifetime)


def require_login():
    """Send anonymous visitors of protected views to the login page."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static" or getattr(view, "login_exempt", False):
        return None
    if current_user.is_authenticated:
        return None
    return redirect(url_for("auth.login", next=request.script_root + request.full_path.rstrip("?")))


def requester() -> Actor:
    """Who this request acts for in the audit log: the logged-in administrator (else anonymous), and the address."""
    return Actor(current_user.username if current_user.is_authenticated else "anonymous", request.remote_addr)


def safe_next(target: str | None) -> str | None:
    """The target if it stays on this console (a path), None otherwise: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
