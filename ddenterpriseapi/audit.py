"""The audit log: one writer, and the reader behind the audit page."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select

from .extensions import db
from .models import AuditEvent
from .said import Said
from .text import truncated

PAGE_SIZE = 50
DETAIL_LIMIT = 1000  # characters of detail kept: provider text can be tens of kilobytes


@dataclass(frozen=True)
class Actor:
    """Who did something, and from which address, as the audit page shows it."""

    name: str
    ip: str | None = None


COMMAND_LINE = Actor("command line")
SYSTEM = Actor("system")  # the console on its own, e.g. finding a dead refresh token


def record(action: str, by: Actor, detail: str | None = None, wording: str | Said | None = None, **values) -> None:
    """Add an event; never pass a secret value. The detail is text that needs no words (a name, a server's reply);
    what needs words is a wording code (audit_wording.WORDINGS) and its values, or a Said (an error's), worded in
    the reader's language."""
    if isinstance(wording, Said):
        wording, values = wording.code, {**wording.values, **values}
    params = Said(wording, {k: v for k, v in values.items() if v is not None}).data() if wording else None
    db.session.add(AuditEvent(action=action, detail=detail and truncated(detail, DETAIL_LIMIT), wording=wording,
                              params=kept(params) if wording else None, actor=by.name[:100], ip=by.ip))
    db.session.commit()


def kept(value):
    """Values as the audit log keeps them: numbers as they are, text cut to the detail's size, within sentences
    too."""
    if isinstance(value, dict):
        return {name: kept(item) for name, item in value.items()}
    if isinstance(value, list):
        return [kept(item) for item in value]
    return value if isinstance(value, int | float) else truncated(str(value), DETAIL_LIMIT)


def recent_events(page: int) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the number of pages."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return list(events), max(1, -(-total // PAGE_SIZE))


@dataclass(frozen=True)
class Tally:
    """How many events of some kinds, from how many addresses, the first and the last one's time."""

    count: int
    addresses: int
    first_at: datetime | None
    last_at: datetime | None


def tally(actions: tuple[str, ...], since: datetime | None = None, **where) -> Tally:
    """Count events of these kinds since a time (e.g. one account's failed logins from one address)."""
    query = select(func.count(), func.count(distinct(AuditEvent.ip)), func.min(AuditEvent.at),
                   func.max(AuditEvent.at)).where(AuditEvent.action.in_(actions))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return Tally(*db.session.execute(query).one())
