"""The audit log: one writer, and the reader behind the audit page."""

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select

from .extensions import db
from .models import AuditEvent

PAGE_SIZE = 50


def current_actor() -> str:
    """The administrator behind the request, else the command line."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.username
    return "command line" if not has_request_context() else "anonymous"


def record(action: str, detail: str | None = None, actor: str | None = None) -> None:
    """Add an event; never pass a secret value in detail."""
    ip = request.remote_addr if has_request_context() else None
    db.session.add(AuditEvent(action=action, detail=detail, actor=actor or current_actor(), ip=ip))
    db.session.commit()


def recent_events(page: int) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number of pages."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(events), max(1, -(-total // PAGE_SIZE))


def failures_since(action: str, since, **where) -> int:
    """How many events of this kind happened since a time (e.g. failed logins of one account)."""
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.at >= since)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.session.scalar(query)
