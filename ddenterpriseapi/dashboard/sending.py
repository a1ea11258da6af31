"""Whether mail can go out now, for the dashboard: what stops it, and how many accepted messages wait for the fix."""

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import DeliveryStatus, OutboxMessage
from ..outbox.delivery import blocker
from ..outbox.statuses import DEFERRED, HELD, QUEUED
from ..runtime import Runtime


@dataclass(frozen=True)
class Stopped:
    """Sending cannot even be tried until an administrator acts (disconnected, email server unusable)."""

    reason: str
    waiting: int  # messages the API and the relay accepted (202, 250) that cannot go before the fix


def sending_stopped(runtime: Runtime, status: DeliveryStatus | None) -> Stopped | None:
    """What stops sending once it has worked or been asked for; None while it can be tried, and on a console still
    being set up (nothing sent, tested or submitted yet), whose tiles already say what is missing."""
    reason = blocker(runtime)
    if reason is None:
        return None
    waiting = db.session.scalar(select(func.count()).where(OutboxMessage.status.in_((QUEUED, DEFERRED, HELD))))
    return Stopped(reason, waiting) if waiting or status is not None else None
