"""Incidents: a finding opens one, told once; a reminder goes once a day while it lasts; its end is told too.

Each step is claimed in one transaction before anything is sent: an open incident holds its kind in a unique column
(two processes opening it at once: the second insert fails), and a reminder or an ending is an UPDATE whose WHERE
only the first process to run it still matches. So two processes checking at once tell each thing once."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Incident
from .checks import Finding
from .kinds import KINDS

REMIND_EVERY = timedelta(days=1)
OPENED, REMINDER, RESOLVED, TESTED = "opened", "reminder", "resolved", "test"


@dataclass(frozen=True)
class Notice:
    """Something to tell: an incident that opened, lasts (a reminder) or ended; or a test."""

    event: str  # the incident's kind, or "test"
    state: str  # opened, reminder, resolved, test
    summary: str
    details: str = ""
    opened_at: datetime | None = None
    incident_id: int | None = None

    @property
    def severity(self) -> str:
        """The kind's severity (info for a test)."""
        return KINDS[self.event].severity

    @property
    def about_email(self) -> bool:
        """The email channel is what is broken: the email must not rely on it."""
        return KINDS[self.event].about_email


def open_incidents() -> dict[str, Incident]:
    """The incidents that last, by kind."""
    return {incident.kind: incident
            for incident in db.session.scalars(select(Incident).where(Incident.open_key.is_not(None)))}


def reconcile(findings: dict[str, Finding | None], moment: datetime) -> list[Notice]:
    """Bring the incidents of these kinds up to date with what holds now; what this process is to tell."""
    current = open_incidents()
    notices = []
    for kind, finding in findings.items():
        incident = current.get(kind)
        if incident is None and finding is not None:
            notices.append(opened(finding, moment))
        elif incident is not None and finding is not None:
            notices.append(lasting(incident, finding, moment))
        elif incident is not None:
            notices.append(ended(incident, moment))
    return [notice for notice in notices if notice is not None]


def opened(finding: Finding, moment: datetime) -> Notice | None:
    """Open the incident; None when another process opened it first (it tells it)."""
    incident = Incident(kind=finding.kind, open_key=finding.kind, severity=KINDS[finding.kind].severity,
                        summary=finding.summary, details=finding.details, opened_at=moment, last_seen_at=moment,
                        last_notified_at=moment)
    db.session.add(incident)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return notice_of(incident, OPENED)


def lasting(incident: Incident, finding: Finding, moment: datetime) -> Notice | None:
    """Still there: note it (in its latest words), and claim the day's reminder when one is due."""
    db.session.execute(update(Incident).where(Incident.id == incident.id)
                       .values(last_seen_at=moment, summary=finding.summary, details=finding.details))
    reminded = db.session.execute(update(Incident).where(Incident.id == incident.id,
                                                         Incident.open_key.is_not(None),
                                                         Incident.last_notified_at <= moment - REMIND_EVERY)
                                  .values(last_notified_at=moment)).rowcount
    db.session.commit()
    if not reminded:
        return None
    return Notice(incident.kind, REMINDER, finding.summary, finding.details, incident.opened_at, incident.id)


def ended(incident: Incident, moment: datetime) -> Notice | None:
    """Gone (for its kind's settle time): close it, unless another process just did."""
    if moment - incident.last_seen_at < KINDS[incident.kind].settle:
        return None
    closed = db.session.execute(update(Incident).where(Incident.id == incident.id, Incident.open_key.is_not(None))
                                .values(open_key=None, resolved_at=moment)).rowcount
    db.session.commit()
    return notice_of(incident, RESOLVED) if closed else None


def notice_of(incident: Incident, state: str) -> Notice:
    """The incident, in the words it was last seen with."""
    return Notice(incident.kind, state, incident.summary, incident.details, incident.opened_at, incident.id)


def incident_open(kind: str) -> bool:
    """Whether an incident of this kind lasts (it may need ending)."""
    return db.session.scalar(select(Incident.id).where(Incident.open_key == kind)) is not None
