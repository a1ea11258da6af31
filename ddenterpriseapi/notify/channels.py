"""Telling a notice to every destination: each webhook, and one email to the recipients, through the outbox when
it can carry it, else through the fallback server; each attempt recorded with its outcome."""

from datetime import datetime

from flask_babel import gettext as _

from ..console_error import ConsoleError
from ..extensions import db
from ..models import Notification as Record
from ..models import NotificationSettings
from ..outbox.accept import Submitter, accept
from ..outbox.delivery import blocker
from ..runtime import Runtime
from ..text import lines
from .absence import worker_seen_recently
from .fallback import send_through_fallback
from .incidents import TESTED, Notice
from .webhook import Outcome, post_notice, shown_url
from .wording import email_draft, webhook_payload

ALERTS = Submitter("alert", "Notifications")


def deliver(notice: Notice, settings: NotificationSettings, runtime: Runtime, moment: datetime) -> list[Record]:
    """Send the notice everywhere it goes and record each outcome; the records, newest last."""
    records = [record(notice, "webhook", shown_url(url), post_notice(url, webhook_payload(notice, runtime.public_url),
                                                                        runtime), moment)
               for url in lines(settings.webhook_urls)]
    recipients = lines(settings.recipients)
    if recipients:
        records.append(email(notice, recipients, settings, runtime, moment))
    db.session.add_all(records)
    db.session.commit()
    return records


def record(notice: Notice, channel: str, destination: str, outcome: Outcome, moment: datetime) -> Record:
    """One destination's outcome, for the Notifications page."""
    return Record(at=moment, incident_id=notice.incident_id, event=notice.event, state=notice.state,
                  summary=notice.summary, channel=channel, destination=destination[:2048], ok=outcome.ok,
                  detail=outcome.detail)


def outbox_ready(runtime: Runtime, moment: datetime) -> bool:
    """Mail put in the outbox now will go: a worker runs, and nothing waits for an administrator."""
    return worker_seen_recently(moment) and blocker(runtime) is None


def email(notice: Notice, recipients: list[str], settings: NotificationSettings, runtime: Runtime,
          moment: datetime) -> Record:
    """The email, by the route that can carry it: the outbox, unless the notice is about the email channel itself
    (or is a test of the fallback server) or the outbox cannot send now; then the fallback server."""
    destination = ", ".join(recipients)
    draft = email_draft(notice, recipients, runtime.public_url)
    prefer_fallback = notice.about_email or (notice.state == TESTED and settings.fallback_host)
    if not prefer_fallback and outbox_ready(runtime, moment):
        return record(notice, "outbox", destination, through_outbox(draft, runtime), moment)
    if not settings.fallback_host:
        return record(notice, "email", destination, Outcome(False, _(
            "Not sent: the email server cannot carry it now, and no fallback server is set.")), moment)
    try:
        reply = send_through_fallback(settings, draft, runtime)
    except ConsoleError as error:
        return record(notice, "fallback", destination, Outcome(False, error.message), moment)
    return record(notice, "fallback", destination, Outcome(True, reply), moment)


def through_outbox(draft, runtime: Runtime) -> Outcome:
    """Put the email in the outbox, for the worker to send like any other message."""
    try:
        message = accept(runtime, [draft], ALERTS)[0]
        db.session.commit()
    except ConsoleError as error:
        db.session.rollback()
        return Outcome(False, error.message)
    return Outcome(True, _("Put in the outbox as message %(id)s.", id=message.id))
