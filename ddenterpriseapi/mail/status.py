"""The outcome of the latest sends, for the dashboard: recorded without a shared lock, so sends never queue on it."""

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import DeliveryStatus


def record_outcome(error: str | None, test: bool) -> None:
    """Remember the latest success or failure, so a dying token cannot fail silently."""
    now = datetime.now(UTC)
    values = {"last_success_at": now} if error is None else {"last_error": error, "last_error_at": now}
    if test:
        values.update(last_test_at=now, last_test_ok=error is None)
    if _update(values):
        return
    db.session.add(DeliveryStatus(id=1, **values))
    try:
        db.session.commit()
    except IntegrityError:  # another send created the row first
        db.session.rollback()
        _update(values)


def _update(values: dict) -> bool:
    """One UPDATE of the single row, committed at once; whether the row existed."""
    updated = db.session.execute(update(DeliveryStatus).where(DeliveryStatus.id == 1).values(**values)).rowcount
    db.session.commit()
    return updated > 0


def get_delivery_status() -> DeliveryStatus | None:
    return db.session.get(DeliveryStatus, 1)
