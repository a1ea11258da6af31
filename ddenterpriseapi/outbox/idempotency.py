"""Idempotency-Key: a client that retries after a lost answer gets the first answer again, not a second message."""

from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..console_error import ConsoleError
from ..extensions import db
from ..models import IdempotentRequest

REMEMBERED = timedelta(hours=24)
MAX_KEY_CHARS = 255


class IdempotencyConflict(ConsoleError):
    """The key was used for another request body: a client bug, never silently answered with the other one."""

    api_status = 409


def check_key(key: str) -> None:
    """Refuse a key that cannot be stored."""
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise ConsoleError(_("Idempotency-Key must be 1 to %(count)s printable characters.", count=MAX_KEY_CHARS),
                           field="Idempotency-Key")


def replay(api_key_id: int, key: str, request_hash: str) -> dict | list | None:
    """The answer given to this key within a day, or None; IdempotencyConflict if the body differs."""
    since = datetime.now(UTC) - REMEMBERED
    earlier = db.session.scalar(select(IdempotentRequest).filter_by(api_key_id=api_key_id, key=key)
                                .where(IdempotentRequest.created_at >= since))
    if earlier is None:
        return None
    if earlier.request_hash != request_hash:
        raise IdempotencyConflict(_("This Idempotency-Key was used with another request body in the last 24 hours: "
                                    "use a new key for a new message."))
    return earlier.response


def remember(api_key_id: int, key: str, request_hash: str, response: dict | list) -> None:
    """Keep the answer for this key, in the caller's transaction (a key reused after a day starts afresh); two
    requests racing with one key meet the unique constraint, and the loser replays the winner's answer."""
    db.session.execute(delete(IdempotentRequest).filter_by(api_key_id=api_key_id, key=key)
                       .where(IdempotentRequest.created_at < datetime.now(UTC) - REMEMBERED))
    db.session.add(IdempotentRequest(api_key_id=api_key_id, key=key, request_hash=request_hash, response=response))


def forget_expired(now: datetime) -> int:
    """Drop keys older than a day; how many."""
    result = db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < now - REMEMBERED))
    return result.rowcount
