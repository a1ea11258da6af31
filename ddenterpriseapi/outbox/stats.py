"""The outbox at a glance, for the dashboard: what waits and since when, the last delivery, whether a worker runs,
and how many messages were delivered or failed each day."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import OutboxMessage
from .monitoring import last_worker_seen, seconds_since
from .statuses import FAILED, PENDING, SENT

CHART_DAYS = 14


@dataclass(frozen=True)
class QueueState:
    """How much waits for delivery, since when, the last delivery, and the worker's last sign of life."""

    depth: int
    oldest_pending_seconds: float | None
    last_delivery_at: datetime | None
    worker_seen_seconds_ago: float | None  # None: no worker ever ran
    worker_running: bool


@dataclass(frozen=True)
class DayOutcome:
    """The messages that were delivered and that failed on one day (UTC)."""

    day: date
    delivered: int
    failed: int


def queue_state(now: datetime, worker_stale_after: float) -> QueueState:
    """The queue as it is now; a worker silent for longer than worker_stale_after seconds counts as not running
    (the limit /healthz uses)."""
    pending = OutboxMessage.status.in_(PENDING)
    depth, oldest = db.session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(pending)).one()
    last_delivery = db.session.scalar(select(func.max(OutboxMessage.sent_at)))
    worker_age = seconds_since(last_worker_seen(db.session), now)
    return QueueState(depth, seconds_since(oldest, now), last_delivery, worker_age,
                      worker_age is not None and worker_age <= worker_stale_after)


def daily_outcomes(today: date, days: int = CHART_DAYS) -> list[DayOutcome]:
    """Delivered and failed messages per day, oldest day first, days without any included as zeros."""
    first = today - timedelta(days=days - 1)
    day, status = func.date(OutboxMessage.finished_at), OutboxMessage.status
    rows = db.session.execute(
        select(day, func.count().filter(status == SENT), func.count().filter(status == FAILED))
        .where(OutboxMessage.finished_at >= datetime.combine(first, time.min, UTC)).group_by(day)).all()
    counted = {date.fromisoformat(str(when)): (delivered, failed) for when, delivered, failed in rows}
    return [DayOutcome(when, *counted.get(when, (0, 0))) for when in (first + timedelta(days=n) for n in range(days))]
