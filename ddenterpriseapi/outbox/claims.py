"""Which worker delivers which message: due messages are claimed in one transaction under a lease (SKIP LOCKED on
PostgreSQL, the write lock on SQLite), so two workers never take the same one and a killed worker's come back."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update

from ..extensions import db
from ..mail.transport import Envelope
from ..models import OutboxMessage
from .statuses import DEFERRED, HELD, QUEUED, SENDING


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease of, ready for the wire."""

    id: int
    envelope: Envelope
    created_at: datetime
    attempts: int


def due(now: datetime):
    """Waiting messages whose time has come, and messages whose worker's lease ran out (it died)."""
    return or_(
        and_(OutboxMessage.status.in_((QUEUED, DEFERRED, HELD)), OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now),
    )


def anything_due(now: datetime) -> bool:
    """Whether a message waits for a worker now: one read of an index, in a transaction of its own."""
    db.session.rollback()
    found = db.session.scalar(select(exists().where(due(now))))
    db.session.rollback()
    return found


def first_due_sender(now: datetime) -> str | None:
    """The envelope sender of the longest waiting due message: under app-only sign-in, the mailbox to sign in as
    next."""
    db.session.rollback()
    table = OutboxMessage.__table__
    sender = db.session.scalar(select(table.c.sender).where(due(now)).order_by(table.c.next_attempt_at, table.c.id)
                               .limit(1))
    db.session.rollback()
    return sender


def claim(owner: str, now: datetime, limit: int, lease: timedelta, sender: str | None = None) -> list[Claimed]:
    """Take up to `limit` due messages (from this envelope sender only, when one is given), the longest waiting
    first, for this worker until the lease ends."""
    if not anything_due(now):  # an idle outbox takes no write lock
        return []
    db.session.connection(execution_options={"sqlite_immediate": True})
    table = OutboxMessage.__table__  # columns, not entities
    chosen_due = due(now) if sender is None else and_(due(now), table.c.sender == sender)
    chosen = db.session.scalars(select(table.c.id).where(chosen_due).order_by(table.c.next_attempt_at, table.c.id)
                                .limit(limit).with_for_update(skip_locked=True)).all()  # from the indexes alone
    rows = db.session.execute(
        table.update().where(table.c.id.in_(chosen)).values(status=SENDING, lease_owner=owner, lease_until=now + lease)
        .returning(table.c.id, table.c.body, table.c.sender, table.c.recipients, table.c.message_id,
                   table.c.created_at, table.c.attempts)).all() if chosen else []
    db.session.commit()
    order = {message_id: position for position, message_id in enumerate(chosen)}
    return [Claimed(row.id, Envelope(row.body, row.sender, list(row.recipients), row.message_id), row.created_at,
                    row.attempts) for row in sorted(rows, key=lambda row: order[row.id])]


def mine(owner: str):
    """This worker's claimed messages: a lease lost to another worker writes nothing."""
    return and_(OutboxMessage.lease_owner == owner, OutboxMessage.status == SENDING)


def renew(owner: str, until: datetime) -> None:
    """Extend the lease of the messages still waiting in this worker's batch (in the caller's transaction)."""
    db.session.execute(update(OutboxMessage).where(mine(owner)).values(lease_until=until))


def release(owner: str, ids: list[int], now: datetime) -> None:
    """Give back claimed messages that were not tried (the worker stops, or the connection ended)."""
    if ids:
        db.session.execute(update(OutboxMessage).where(mine(owner), OutboxMessage.id.in_(ids))
                           .values(status=QUEUED, next_attempt_at=now, lease_owner=None, lease_until=None))
        db.session.commit()


def hold_all(reason: str) -> None:
    """Only an administrator can make sending possible: every waiting message is held until then."""
    waiting = or_(OutboxMessage.status.in_((QUEUED, DEFERRED)),
                  and_(OutboxMessage.status == HELD, OutboxMessage.next_attempt_at.is_not(None)))
    if db.session.scalar(select(exists().where(waiting))):
        db.session.execute(update(OutboxMessage).where(waiting)
                           .values(status=HELD, next_attempt_at=None, last_error=reason))
    db.session.commit()


def release_held(now: datetime) -> None:
    """The administrator fixed it: the held messages go, without anyone submitting them again."""
    held = and_(OutboxMessage.status == HELD, OutboxMessage.next_attempt_at.is_(None))
    if db.session.scalar(select(exists().where(held))):
        db.session.execute(update(OutboxMessage).where(held).values(status=QUEUED, next_attempt_at=now))
    db.session.commit()
