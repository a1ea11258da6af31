"""Writing down what became of each message while the next one is on the wire.

A worker's outcomes go to a thread with a database connection of its own, which commits them in order. Before a
message is handed over, every outcome but the last one is committed: the database work overlaps the wait for the
provider, and a worker killed mid-batch leaves at most that last outcome unwritten (besides the message then on
the wire), so at most those two are sent again when the lease runs out.
"""

import functools
import queue
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Engine

from ..models import OutboxAttempt, OutboxMessage
from .statuses import SENDING

UNWRITTEN_OUTCOMES = 1  # outcomes that may wait while the next message is sent
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
    building a statement costs more than running it. On the table, not the entity: no session to bring up to
    date."""
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


class Recorder:
    """The thread committing one worker's outcomes; a context manager that writes everything before it exits."""

    def __init__(self, engine: Engine, owner: str):
        self.engine, self.owner = engine, owner
        self.pending: queue.Queue[Record | None] = queue.Queue()
        self.room = threading.Semaphore(UNWRITTEN_OUTCOMES)
        self.failure: Exception | None = None
        self.thread = threading.Thread(target=self.run, name=f"outbox-recorder-{owner}", daemon=True)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.pending.put(None)
        self.thread.join()
        if self.failure is not None and exc_info[0] is None:
            raise self.failure

    def add(self, record: Record) -> None:
        """Queue an outcome, once all but the last UNWRITTEN_OUTCOMES - 1 are committed."""
        self.room.acquire()
        if self.failure is not None:
            self.room.release()
            raise self.failure
        self.pending.put(record)

    def settle(self) -> None:
        """Wait until every outcome queued so far is committed (before touching the batch's rows otherwise)."""
        self.pending.join()
        if self.failure is not None:
            raise self.failure

    def run(self) -> None:
        try:
            with self.engine.connect() as connection:
                while (record := self.pending.get()) is not None:
                    self.commit(connection, record)
        except Exception as error:  # noqa: BLE001 - handed to the sending thread, which raises it
            self.failure = error
            self.discard()
        finally:
            self.pending.task_done()

    def commit(self, connection: Connection, record: Record) -> None:
        try:
            with connection.begin():
                write(connection, self.owner, record)
        finally:
            self.pending.task_done()
            self.room.release()

    def discard(self) -> None:
        """After a failure: let the sender go on to hear of it, dropping what it queued (the leases bring those
        messages back)."""
        self.room.release()
        while self.pending.get() is not None:
            self.pending.task_done()
            self.room.release()
