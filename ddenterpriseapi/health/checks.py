"""Whether the console delivers mail, for /healthz: a delivery worker seen lately, and no message waiting too long.
Numbers and reason codes only: nothing secret."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ..outbox.monitoring import last_worker_seen, read_queue, seconds_since

WORKER_STALE = "worker_stale"  # no delivery worker seen within WORKER_STALE_AFTER (or none ever ran)
QUEUE_STALE = "queue_stale"  # a queued or deferred message has waited longer than QUEUE_STALE_AFTER


@dataclass(frozen=True)
class StaleAfter:
    """How many seconds without a worker, and of waiting, make the console degraded."""

    worker: float
    queue: float


def assess(session: Session, stale_after: StaleAfter) -> dict:
    """The health report: "ok", or "degraded" with the reasons (the database answered, or this would have raised)."""
    now = datetime.now(UTC)
    queue = read_queue(session)
    worker_age = seconds_since(last_worker_seen(session), now)
    oldest = seconds_since(queue.oldest_waiting_since, now) or 0
    reasons = []
    if worker_age is None or worker_age > stale_after.worker:
        reasons.append(WORKER_STALE)
    if oldest > stale_after.queue:
        reasons.append(QUEUE_STALE)
    return {
        "status": "degraded" if reasons else "ok",
        "database": "ok",
        "worker": {"seen_seconds_ago": None if worker_age is None else round(worker_age)},
        "queue": {"oldest_seconds": round(oldest), "depth": queue.depth},
        "reasons": reasons,
    }
