"""The saved notification settings: the webhooks, the recipients and the fallback server; and the checks' marks."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from ..database import apply_changes, locked_singleton
from ..extensions import db
from ..models import NotificationSettings

SECRETS = {"fallback_password": ("fallback_host", "fallback_port")}  # a password is sent only where it was typed for


def get_notification_settings() -> NotificationSettings:
    """The saved settings, or unsaved defaults (nobody to tell yet)."""
    return db.session.get(NotificationSettings, 1) or NotificationSettings(id=1, fallback_port=25,
                                                                           fallback_security="none")


def save_notification_settings(values: dict) -> tuple[NotificationSettings, list[str]]:
    """Store the settings (a blank password keeps the stored one unless the host or port changed); the names of
    those that changed."""
    settings = locked_singleton(NotificationSettings)
    changed = apply_changes(settings, values, SECRETS)
    if changed:
        settings.updated_at = datetime.now(UTC)
    db.session.commit()
    return settings, changed


def ensure_row() -> None:
    """Create the single row if no one has yet, so the checks' marks have somewhere to go."""
    if db.session.get(NotificationSettings, 1) is not None:
        return
    db.session.add(NotificationSettings(id=1))
    try:
        db.session.commit()
    except IntegrityError:  # another process created it first
        db.session.rollback()


def take_worker_check_turn(moment: datetime, every: timedelta) -> bool:
    """Whether this process runs the web's worker check now: one process at most per `every`, across processes."""
    ensure_row()
    column = NotificationSettings.worker_checked_at
    taken = db.session.execute(update(NotificationSettings)
                               .where(NotificationSettings.id == 1, or_(column.is_(None), column <= moment - every))
                               .values(worker_checked_at=moment)).rowcount
    db.session.commit()
    return taken == 1


def mark_failures_seen(until: datetime) -> None:
    """Remember up to when failed messages have been looked at, so each failure is told once."""
    ensure_row()
    db.session.execute(update(NotificationSettings).where(NotificationSettings.id == 1)
                       .values(failures_seen_until=until))
    db.session.commit()
