"""Writing down what became of each message while the next one is on the wire.

A worker commits a message's outcome while the provider takes in the next message (the transport's `meanwhile`),
so the database work overlaps the wait for the provider instead of adding to it. A worker killed mid-batch leaves
at most that outcome unwritten, besides the message then on the wire: at most those two are sent again when the
lease runs out.
"""

import functools
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection

from ..database import commits_without_waiting_for_the_disk
from ..models import OutboxAttempt, OutboxMessage
from .statuses import SENDING

ATTEMPT = OutboxAttempt.__table__.insert()


@dataclass(frozen=True)
class Record:
    """One attempt's result: the message's new columns and the line for its history."""

    message: int
    values: dict
    outcome: str
    detail: str
    at: datetime


@functools.lru_cache(maxsize=16)
def outcome_statement(columns: tuple[str, ...]):
    """The UPDATE writing one attempt's result to a message this worker holds, built once per set of columns:
    building a statement costs more than running it. On the table, not the entity: no session objects to bring
    up to date."""
    table = OutboxMessage.__table__
    return (table.update()
            .where(table.c.id == bindparam("message"), table.c.lease_owner == bindparam("owner"),
                   table.c.status == SENDING)
            .values(attempts=table.c.attempts + 1,
                    **{column: bindparam(f"new_{column}", type_=table.c[column].type) for column in columns}))


def write(connection: Connection, owner: str, record: Record) -> None:
    """The message's new columns and its history line, in the caller's transaction; a lease lost meanwhile to
    another worker writes neither."""
    columns = tuple(sorted(record.values))
    parameters = {"message": record.message, "owner": owner,
                  **{f"new_{column}": record.values[column] for column in columns}}
    if connection.execute(outcome_statement(columns), parameters).rowcount:
        connection.execute(ATTEMPT, {"message_id": record.message, "at": record.at, "outcome": record.outcome,
                                     "detail": record.detail, "worker": owner})


class Ledger:
    """One worker's outcomes, written one message behind: `hold` keeps the latest, `flush` commits it; leaving the
    context writes what is held.

    The commits do not wait for the disk: an outcome survives the worker being killed, and a power cut may lose the
    last ones, whose messages are then sent again. Postfix makes the same choice after delivery. Accepting a message
    always waits for the disk.
    """

    def __init__(self, owner: str):
        self.owner = owner
        self.pending: Record | None = None
        self.stack = ExitStack()
        self.connection: Connection | None = None

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc_info) -> None:
        with self.stack:
            if exc_info[0] is None:
                self.flush()

    def hold(self, record: Record) -> None:
        """Keep this outcome until the next message is out (or the batch ends); the one before is written by now."""
        self.flush()
        self.pending = record

    def flush(self) -> None:
        """Commit the outcome held, if any, in a transaction of its own (on SQLite one that takes the write lock as
        it begins, since it only writes)."""
        record, self.pending = self.pending, None
        if record is None:
            return
        if self.connection is None:
            self.connection = self.stack.enter_context(commits_without_waiting_for_the_disk())
        with self.connection.begin():
            write(self.connection, self.owner, record)
