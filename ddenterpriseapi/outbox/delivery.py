"""Delivering a claimed batch over one session of the transport, and writing down what became of each message."""

import threading
import time
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _

from ..extensions import db
from ..mail.errors import MailError, MailNotConfigured
from ..mail.sending import transport_for
from ..mail.server import get_mail_server
from ..mail.smtp import Delivery, Trace
from ..mail.status import record_outcome
from ..oauth.errors import OAuthError
from ..oauth.tokens import NotAuthorized
from ..runtime import Runtime
from .claims import Claimed, release, renew
from .outcomes import Outcome, outcome_of
from .pacing import Pacer
from .policy import OutboxPolicy
from .recorder import Record, Recorder
from .statuses import DEFERRED, FAILED, HELD, SENT

HELD_RECHECK_MAX = 900  # seconds: a refusal only an administrator can fix is retried at least this often


def now() -> datetime:
    return datetime.now(UTC)


def sent_record(item: Claimed, delivery: Delivery, policy: OutboxPolicy) -> Record:
    """The server accepted it: sent, with its reply; the body goes unless OUTBOX_KEEP_SENT keeps it a while."""
    moment = now()
    values = dict(status=SENT, sent_at=moment, finished_at=moment, last_reply=delivery.reply, last_error=None,
                  refused_recipients=delivery.refused or None, next_attempt_at=None, lease_owner=None,
                  lease_until=None)
    if not policy.keep_sent:
        values["body"] = None
    detail = delivery.reply + "".join(f"; {rcpt} refused: {reply}" for rcpt, reply in delivery.refused.items())
    return Record(item.id, values, SENT, detail, moment)


def failure_record(item: Claimed, outcome: Outcome, policy: OutboxPolicy) -> Record:
    """Deferred with backoff (failed once too old), held for an administrator, or failed for good."""
    moment, status, detail = now(), outcome.status, outcome.detail
    attempts = item.attempts + 1
    values = dict(last_error=detail, last_reply=outcome.reply, refused_recipients=outcome.refused or None,
                  lease_owner=None, lease_until=None)
    if status == DEFERRED and moment - item.created_at > policy.max_age:
        status = FAILED
        detail = _("Gave up after %(count)s attempts over %(hours)s hours; the last error: %(error)s",
                   count=attempts, hours=round(policy.max_age.total_seconds() / 3600), error=detail)
        values["last_error"] = detail
    if status == FAILED:
        values.update(finished_at=moment, next_attempt_at=None)
    elif status == HELD and outcome.waits_for_fix:
        values["next_attempt_at"] = None  # released as soon as the administrator fixes it
    elif status == HELD:
        values["next_attempt_at"] = moment + min(policy.retry_delay(attempts), timedelta(seconds=HELD_RECHECK_MAX))
    else:
        delay = policy.retry_delay(1) if outcome.throttled else policy.retry_delay(attempts)
        values["next_attempt_at"] = moment + delay
    return Record(item.id, dict(values, status=status), status, detail, moment)


def deliver_batch(runtime: Runtime, policy: OutboxPolicy, owner: str, batch: list[Claimed], pacer: Pacer,
                  stop: threading.Event) -> None:
    """Send the batch over one session, the outcomes written meanwhile by a Recorder; a message the session could
    not reach goes back to the queue. The dashboard's latest success and failure are written once per batch."""
    done: set[int] = set()
    outcomes: list[Outcome | None] = []  # None: sent
    with Recorder(db.engine, owner) as recorder:
        try:
            transport = transport_for(get_mail_server(), runtime)
            db.session.rollback()  # no transaction open while the provider answers
            with transport.session(Trace()) as send:
                send_in_session(recorder, batch, send, pacer, policy, stop, done, outcomes)
        except (MailError, OAuthError) as error:  # the session could not be opened: every message shares it
            outcomes.append(outcome_of(error))
            for item in batch:
                if item.id not in done:
                    done.add(item.id)
                    recorder.add(failure_record(item, outcomes[-1], policy))
    release(owner, [item.id for item in batch if item.id not in done], now())
    record_batch(outcomes)


def record_batch(outcomes: list[Outcome | None]) -> None:
    """The dashboard's latest success and failure, from one batch."""
    if None in outcomes:
        record_outcome(None, test=False)
    failures = [outcome for outcome in outcomes if outcome is not None]
    if failures:
        record_outcome(failures[-1].detail, test=False)


def send_in_session(recorder: Recorder, batch: list[Claimed], send, pacer: Pacer, policy: OutboxPolicy,
                    stop: threading.Event, done: set[int], outcomes: list) -> None:
    """One message after the other, paced, until the batch ends, the connection is too old or over, or the
    worker stops."""
    opened = renewed = time.monotonic()
    for item in batch:
        if time.monotonic() - opened > policy.connection_max_age or not pacer.wait(stop):
            return
        if time.monotonic() - renewed > policy.lease.total_seconds() / 3:  # a slow batch keeps its lease
            recorder.settle()
            renew(recorder.owner, now() + policy.lease)
            db.session.commit()
            renewed = time.monotonic()
        done.add(item.id)
        outcomes.append(attempt(recorder, item, send, pacer, policy))
        if outcomes[-1] is not None and outcomes[-1].session_over:
            return


def attempt(recorder: Recorder, item: Claimed, send, pacer: Pacer, policy: OutboxPolicy) -> Outcome | None:
    """Deliver one message and record what became of it: the failure's outcome, or None once sent."""
    try:
        delivery = send(item.envelope)
    except MailError as error:
        outcome = outcome_of(error)
        recorder.add(failure_record(item, outcome, policy))
        if outcome.throttled:
            pacer.throttled()
        return outcome
    recorder.add(sent_record(item, delivery, policy))
    return None


def blocker(runtime: Runtime) -> str | None:
    """Why nothing can be sent until an administrator acts (no usable email server, nobody authorized), found
    without asking any server; None when sending can be tried."""
    try:
        transport_for(get_mail_server(), runtime).check_ready()
    except (MailNotConfigured, NotAuthorized) as error:
        return error.message
    return None
