"""What the mail API answers: messages accepted into the outbox (once, per Idempotency-Key), and their status."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..mail.message import Draft
from ..models import OutboxMessage
from ..outbox.accept import Receipt, Submitter, accept
from ..outbox.idempotency import check_key, remember, replay
from ..runtime import Runtime
from .keys import ActiveKey


def iso(moment: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC with a Z, or None."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def receipt(row: OutboxMessage | Receipt) -> dict:
    """The answer about one message."""
    return {"id": row.id, "message_id": row.message_id, "status": row.status}


def submitter(key: ActiveKey) -> Submitter:
    return Submitter("api", f"API key {key.name} ({key.prefix}…)", key.id)


def submit(runtime: Runtime, drafts: list[Draft], by: Submitter, batch: bool,
           idempotency_key: str | None = None, request_hash: str = "") -> dict | list:
    """Accept the drafts into the outbox and commit; the receipt (a list for a batch). With an Idempotency-Key,
    a request seen in the last day gets its first answer and creates nothing."""
    if idempotency_key is not None:
        check_key(idempotency_key)
        db.session.rollback()  # a fresh transaction that takes the write lock first: one writer at a time from here
        db.session.connection(execution_options={"sqlite_immediate": True})
        earlier = replay(by.api_key_id, idempotency_key, request_hash)
        if earlier is not None:
            return earlier
    receipts = accept(runtime, drafts, by)
    answer = [receipt(row) for row in receipts] if batch else receipt(receipts[0])
    if idempotency_key is not None:
        remember(by.api_key_id, idempotency_key, request_hash, answer)
    try:
        db.session.commit()
    except IntegrityError:  # another request with this key committed first (PostgreSQL): its answer stands
        db.session.rollback()
        return replay(by.api_key_id, idempotency_key, request_hash)
    return answer


def status_of(row: OutboxMessage) -> dict:
    """Where a message stands: its status, attempts, and the reply, error or next attempt that goes with it."""
    return {
        **receipt(row),
        "attempts": row.attempts,
        "created_at": iso(row.created_at),
        "recipients": row.recipients,
        "subject": row.subject,
        "sent_at": iso(row.sent_at),
        "reply": row.last_reply,
        "error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at),
        "refused_recipients": row.refused_recipients or {},
    }
