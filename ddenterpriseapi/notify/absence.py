"""Whether a delivery worker runs: the newest heartbeat, and the mail waiting for one."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import OutboxMessage, WorkerHeartbeat
from ..outbox.statuses import PENDING

WORKER_SILENCE = timedelta(minutes=5)  # a worker beats every few seconds: this long without one, none runs


@dataclass(frozen=True)
class WorkerAbsence:
    """No worker for `duration`: since the last heartbeat, or (none ever seen) since mail began waiting."""

    duration: timedelta
    ever_seen: bool


def last_heartbeat() -> datetime | None:
    """When any worker last beat; None if none ever did (or none within the purged week)."""
    return db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))


def worker_seen_recently(moment: datetime) -> bool:
    """A worker beat within WORKER_SILENCE: mail put in the outbox now will be sent."""
    seen = last_heartbeat()
    return seen is not None and moment - seen <= WORKER_SILENCE


def worker_absence(moment: datetime) -> WorkerAbsence | None:
    """How long no worker has been seen, when that is past WORKER_SILENCE and one is needed (one ran before, or mail
    is waiting); None otherwise. A console that never ran one counts only once mail waits for it."""
    seen = last_heartbeat()
    since = seen or db.session.scalar(select(func.min(OutboxMessage.created_at))
                                      .where(OutboxMessage.status.in_(PENDING)))
    if since is None or moment - since <= WORKER_SILENCE:
        return None
    return WorkerAbsence(moment - since, ever_seen=seen is not None)
