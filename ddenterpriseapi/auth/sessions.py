"""Login sessions kept in the database, so logging out, a password change or a removal ends them for good."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from ..database import locked
from ..extensions import db
from ..models import Admin, AdminSession

# Writing last_seen_at on every page view would make each request a writer (SQLite has one at a time).
TOUCH_INTERVAL = timedelta(minutes=1)
USER_AGENT_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    """How long a session lives: without a request (idle), and at all (absolute)."""

    idle: timedelta
    absolute: timedelta

    def alive(self, record: AdminSession, now: datetime) -> bool:
        return now - record.last_seen_at < self.idle and now - record.created_at < self.absolute


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash cannot be brute-forced; it keeps each request cheap.
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(admin: Admin, ip: str | None, user_agent: str | None, limits: Limits) -> None:
    """Record a new session for the administrator, whose get_id() then gives its token for the cookie."""
    token = secrets.token_urlsafe(32)
    _end_expired(limits)
    db.session.add(AdminSession(token_hash=token_hash(token), admin_id=admin.id, ip=ip,
                                user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None))
    db.session.commit()
    admin.session_token = token


def resume_session(token: str, limits: Limits) -> Admin | None:
    """The administrator of a live session, noting that it is in use; None once it ended or expired."""
    record = db.session.scalar(select(AdminSession).filter_by(token_hash=token_hash(token)))
    now = datetime.now(UTC)
    if record is None:
        return None
    if not limits.alive(record, now):
        end_session(token)
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        record = locked(AdminSession, id=record.id)
        if record is None:
            return None
        record.last_seen_at = now
        db.session.commit()
    record.admin.session_token = token
    return record.admin


def end_session(token: str | None) -> None:
    """Forget a session (logout): its cookie is worth nothing from now on."""
    if token:
        db.session.execute(delete(AdminSession).filter_by(token_hash=token_hash(token)))
        db.session.commit()


def end_other_sessions(admin: Admin) -> int:
    """End every session of the administrator but the one of this request; how many ended."""
    result = db.session.execute(delete(AdminSession).where(
        AdminSession.admin_id == admin.id, AdminSession.token_hash != token_hash(admin.session_token or "")))
    db.session.commit()
    return result.rowcount


def list_sessions(admin: Admin, limits: Limits) -> list[AdminSession]:
    """The administrator's live sessions, the most recently used first."""
    now = datetime.now(UTC)
    records = db.session.scalars(
        select(AdminSession).filter_by(admin_id=admin.id).order_by(AdminSession.last_seen_at.desc()))
    return [record for record in records if limits.alive(record, now)]


def _end_expired(limits: Limits) -> None:
    """Forget the sessions nobody logged out of."""
    now = datetime.now(UTC)
    db.session.execute(delete(AdminSession).where(
        (AdminSession.last_seen_at <= now - limits.idle) | (AdminSession.created_at <= now - limits.absolute)))
