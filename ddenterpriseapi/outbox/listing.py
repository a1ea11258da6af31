"""The Outbox page's reading side: a page of messages newest first, and one message in full.

Pages go by id (keyset), never by OFFSET, so the last page of 100,000 messages is as quick as the first."""

from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import defer, selectinload

from ..extensions import db
from ..models import OutboxMessage

PAGE_SIZE = 50
SEARCHED = (OutboxMessage.subject, OutboxMessage.sender, OutboxMessage.message_id,
            cast(OutboxMessage.recipients, String))  # the JSON list as text: any one recipient matches
WITHOUT_BODY = defer(OutboxMessage.body, raiseload=True)  # the pages never show it, nor decrypt it


@dataclass(frozen=True)
class Filter:
    """What the list is narrowed to: one status (None: all), and text to find (empty: none)."""

    status: str | None = None
    search: str = ""


@dataclass(frozen=True)
class Page:
    """One page of messages, newest first, and the cursors of the pages beside it (None where there is none)."""

    messages: list[OutboxMessage]
    newer_after: int | None = None
    older_before: int | None = None


def find_messages(where: Filter, before: int | None = None, after: int | None = None,
                  size: int = PAGE_SIZE) -> Page:
    """The newest matching messages, or those just older than `before`, or just newer than `after`."""
    query = _matching(where)
    if after is not None:
        rows = _fetch(query.where(OutboxMessage.id > after).order_by(OutboxMessage.id), size)
        has_newer, rows = len(rows) > size, rows[:size][::-1]
        has_older = bool(rows) and _any(query.where(OutboxMessage.id < rows[-1].id))
    else:
        bounded = query if before is None else query.where(OutboxMessage.id < before)
        rows = _fetch(bounded.order_by(OutboxMessage.id.desc()), size)
        has_older, rows = len(rows) > size, rows[:size]
        has_newer = bool(rows) and before is not None and _any(query.where(OutboxMessage.id > rows[0].id))
    return Page(rows, rows[0].id if has_newer else None, rows[-1].id if has_older else None)


def get_message(message_id: int) -> OutboxMessage | None:
    """One message with its attempts, for its page."""
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                             .options(WITHOUT_BODY, selectinload(OutboxMessage.attempt_log)))


def _matching(where: Filter):
    """The messages the filter keeps, unordered."""
    query = select(OutboxMessage)
    if where.status:
        query = query.where(OutboxMessage.status == where.status)
    if where.search:
        query = query.where(or_(*(_contains(column, where.search) for column in SEARCHED)))
    return query


def _contains(column, text: str):
    """The column holds the text, whatever its case: SQLite's LIKE already ignores case (icontains' lower() on both
    sides would double the cost of a search through 100,000 rows); PostgreSQL's LIKE does not."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def _fetch(query, size: int) -> list[OutboxMessage]:
    """One more row than a page holds: the extra one tells whether another page follows."""
    return list(db.session.scalars(query.options(WITHOUT_BODY).limit(size + 1)))


def _any(query) -> bool:
    """Whether the query finds at least one row."""
    return db.session.scalar(query.with_only_columns(OutboxMessage.id).limit(1)) is not None
