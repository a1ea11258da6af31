"""The audit log: one writer, and the reader behind the audit page."""

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import distinct, func, select

from .extensions import db
from .models import AuditEvent
from .text import truncated

PAGE_SIZE = 50
DETAIL_LIMIT = 1000  # characters of detail kept: provider text can be tens of kilobytes
ACTION_LABELS = {  # in English, the action with spaces for underscores, as the audit page always showed it
    "admin_created": _l("admin created"),
    "admin_removed": _l("admin removed"),
    "api_key_created": _l("api key created"),
    "api_key_revoked": _l("api key revoked"),
    "authorization_failed": _l("authorization failed"),
    "authorized": _l("authorized"),
    "disconnected": _l("disconnected"),
    "email_server_changed": _l("email server changed"),
    "encryption_key_rotated": _l("encryption key rotated"),
    "login": _l("login"),
    "login_failed": _l("login failed"),
    "login_refused": _l("login refused"),
    "logout": _l("logout"),
    "oauth_settings_changed": _l("oauth settings changed"),
    "password_changed": _l("password changed"),
    "password_check_failed": _l("password check failed"),
    "password_check_refused": _l("password check refused"),
    "reauthorization_required": _l("reauthorization required"),
    "sessions_ended": _l("sessions ended"),
    "test_email_failed": _l("test email failed"),
    "test_email_sent": _l("test email sent"),
}


def current_actor() -> str:
    """The administrator behind the request, else the command line."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.username
    return "command line" if not has_request_context() else "anonymous"


def record(action: str, detail: str | None = None, actor: str | None = None, ip: str | None = None) -> None:
    """Add an event (from the request's address unless given); never pass a secret value in detail."""
    if ip is None and has_request_context():
        ip = request.remote_addr
    db.session.add(AuditEvent(action=action, detail=detail and truncated(detail, DETAIL_LIMIT),
                              actor=(actor or current_actor())[:100], ip=ip))
    db.session.commit()


def action_label(action: str) -> str:
    """An audit action in words, in the page's language."""
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def recent_events(page: int) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number of pages."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(events), max(1, -(-total // PAGE_SIZE))


@dataclass(frozen=True)
class Tally:
    """How many events of some kinds, from how many addresses, the first and the last one's time."""

    count: int
    addresses: int
    first_at: datetime | None
    last_at: datetime | None


def tally(actions: tuple[str, ...], since: datetime | None = None, **where) -> Tally:
    """Count events of these kinds since a time (e.g. one account's failed logins from one address)."""
    query = select(func.count(), func.count(distinct(AuditEvent.ip)), func.min(AuditEvent.at),
                   func.max(AuditEvent.at)).where(AuditEvent.action.in_(actions))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return Tally(*db.session.execute(query).one())
