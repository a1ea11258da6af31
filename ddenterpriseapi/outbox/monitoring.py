"""What the health check and the metrics read about the outbox: messages per status, how long the oldest one has
been waiting, and when a delivery worker was last seen."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import OutboxMessage, WorkerHeartbeat
from . import statuses

WAITING = (statuses.QUEUED, statuses.DEFERRED)  # held by no worker: their age says whether the queue moves


@dataclass(frozen=True)
class QueueReading:
    """Messages per status (every status, 0 when none) and when the oldest waiting one was accepted."""

    counts: dict[str, int]
    oldest_waiting_since: datetime | None

    @property
    def depth(self) -> int:
        """Messages not finished yet."""
        return sum(self.counts[status] for status in statuses.PENDING)


def read_queue(session: Session) -> QueueReading:
    """Count the messages per status and find the oldest waiting one."""
    counts = dict.fromkeys(statuses.ALL, 0)
    counts.update(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    firsts = [session.scalar(select(OutboxMessage.created_at).where(OutboxMessage.status == status)
                             .order_by(OutboxMessage.id).limit(1)) for status in WAITING]  # (status, id) index
    oldest = min((first for first in firsts if first is not None), default=None)
    return QueueReading(counts=counts, oldest_waiting_since=oldest)


def last_worker_seen(session: Session) -> datetime | None:
    """The newest heartbeat of any delivery worker, or None when none ever ran."""
    return session.scalar(select(func.max(WorkerHeartbeat.seen_at)))


def seconds_since(moment: datetime | None, now: datetime) -> float | None:
    """How long ago a moment was (never negative: another host's clock may run ahead), None for no moment."""
    return None if moment is None else max(0.0, (now - moment).total_seconds())
