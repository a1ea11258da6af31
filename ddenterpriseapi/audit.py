"""The audit log: one writer, and the reader behind the audit page."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
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
    "disconnected": _l("authorization removed"),
    "email_server_changed": _l("email server changed"),
    "encryption_key_rotated": _l("encryption key rotated"),
    "login": _l("login"),
    "login_failed": _l("login failed"),
    "login_refused": _l("login refused"),
    "logout": _l("logout"),
    "notification_settings_changed": _l("notification settings changed"),
    "oauth_settings_changed": _l("oauth settings changed"),
    "outbox_message_cancelled": _l("outbox message cancelled"),
    "outbox_message_retried": _l("outbox message retried"),
    "outbox_message_sent_again": _l("outbox message sent again"),
    "password_changed": _l("password changed"),
    "password_check_failed": _l("password check failed"),
    "password_check_refused": _l("password check refused"),
    "reauthorization_required": _l("reauthorization required"),
    "relay_auth_failed": _l("relay authentication failed"),
    "sessions_ended": _l("sessions ended"),
    "test_email_failed": _l("test email failed"),
    "test_email_sent": _l("test email sent"),
    "test_notification_sent": _l("test notification sent"),
}


@dataclass(frozen=True)
class Actor:
    """Who did something, and from which address, as the audit page shows it."""

    name: str
    ip: str | None = None


COMMAND_LINE = Actor("command line")
SYSTEM = Actor("system")  # the console on its own, e.g. finding a dead refresh token


def record(action: str, by: Actor, detail: str | None = None) -> None:
    """Add an event; never pass a secret value in detail."""
    db.session.add(AuditEvent(action=action, detail=detail and truncated(detail, DETAIL_LIMIT),
                              actor=by.name[:100], ip=by.ip))
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
