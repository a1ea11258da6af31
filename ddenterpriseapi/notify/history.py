"""What the Notifications page lists: the incidents that last, and the latest notifications with their outcomes."""

from sqlalchemy import select

from ..extensions import db
from ..models import Incident, Notification

RECENT = 30


def lasting_incidents() -> list[Incident]:
    """The open incidents, oldest first."""
    return list(db.session.scalars(select(Incident).where(Incident.open_key.is_not(None))
                                   .order_by(Incident.opened_at)))


def recent_notifications() -> list[Notification]:
    """The latest notifications, newest first."""
    return list(db.session.scalars(select(Notification).order_by(Notification.id.desc()).limit(RECENT)))
