"""Delivering a claimed batch over one session of the transport, and writing down what became of each message."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _

from ..extensions import db
from ..mail.errors import MailError, MailNotConfigured
from ..mail.sending import transport_for
from ..mail.server import get_mail_server
from ..mail.smtp import Delivery, Trace
from ..mail.transport import Send, Transport
from ..models import MailServer
from ..oauth.errors import OAuthError
from ..oauth.tokens import NotAuthorized
from ..runtime import Runtime
from .claims import Claimed, release, renew
from .outcomes import Outcome, outcome_of
from .pacing import Pacer
from .policy import OutboxPolicy
from .recorder import Ledger, Record
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
    elif outcome.retry_after is not None:  # exactly as long as the server asked
        values["next_attempt_at"] = moment + timedelta(seconds=outcome.retry_after)
    else:
        delay = policy.retry_delay(1) if outcome.throttled else policy.retry_delay(attempts)
        values["next_attempt_at"] = moment + delay
    return Record(item.id, dict(values, status=status), status, detail, moment)


@dataclass
class Connection:
    """One session of the transport as the worker uses it: how old, how many messages, whether it is over."""

    send: Send
    opened: float = field(default_factory=time.monotonic)
    messages: int = 0
    over: bool = False

    def lasts(self, policy: OutboxPolicy) -> bool:
        """Whether another message may go over it (OUTBOX_CONNECTION_MAX_MESSAGES, OUTBOX_CONNECTION_MAX_AGE)."""
        return (not self.over and self.messages < policy.connection_max_messages
                and time.monotonic() - self.opened <= policy.connection_max_age)


@dataclass
class NextBatch:
    """The open session's next batch, claimed while the provider takes in the current batch's last message, so that
    the claim overlaps that wait instead of following it."""

    claim: Callable[[], list[Claimed]]
    ready: list[Claimed] | None = None

    def prefetch(self) -> None:
        if self.ready is None:
            self.ready = self.claim()

    def take(self) -> list[Claimed]:
        batch = self.ready if self.ready is not None else self.claim()
        self.ready = None
        return batch

    def unused(self) -> list[Claimed]:
        """What was claimed ahead and never sent (the session ended first): it goes back to the queue."""
        return self.ready or []


def deliver(transport: Transport, policy: OutboxPolicy, owner: str, batch: list[Claimed], pacer: Pacer,
            stop: threading.Event, more: Callable[[], list[Claimed]]) -> list[Outcome | None]:
    """Send the batch over one session, then the batches `more` claims while the session lasts, so that a backlog
    costs one handshake and one AUTH per connection. Each outcome is written while the next message is on the wire
    (Ledger), and the next batch claimed while the last one is; a message the session could not reach goes back to
    the queue. What became of each message tried: its failure's outcome, or None once sent."""
    done: set[int] = set()
    outcomes: list[Outcome | None] = []
    following = NextBatch(more)
    db.session.rollback()  # no transaction open while the provider answers
    with Ledger(owner) as ledger:
        try:
            with transport.session(Trace()) as send:
                connection = Connection(send)
                send_batch(ledger, batch, connection, pacer, policy, stop, done, outcomes, following)
                while connection.lasts(policy) and not stop.is_set() and done.issuperset(item.id for item in batch):
                    batch = following.take()
                    if not batch:
                        break
                    send_batch(ledger, batch, connection, pacer, policy, stop, done, outcomes, following)
        except (MailError, OAuthError) as error:  # the session could not be opened: every message shares the outcome
            outcomes.append(outcome_of(error))
            for item in batch:
                if item.id not in done:
                    done.add(item.id)
                    ledger.hold(failure_record(item, outcomes[-1], policy))
    wait = outcomes[-1].retry_after if outcomes and outcomes[-1] is not None else None  # the server asked: all wait
    untried = [item.id for item in [*batch, *following.unused()] if item.id not in done]
    release(owner, untried, now() + timedelta(seconds=wait or 0))
    return outcomes


def send_batch(ledger: Ledger, batch: list[Claimed], connection: Connection, pacer: Pacer, policy: OutboxPolicy,
               stop: threading.Event, done: set[int], outcomes: list, following: NextBatch) -> None:
    """One message after the other, paced, until the batch ends, the connection is too old, full or over, or the
    worker stops; the last message's wait claims the next batch, when the connection will take it."""
    renewed = time.monotonic()
    for position, item in enumerate(batch, 1):
        if not connection.lasts(policy) or not pacer.wait(stop):
            return
        if time.monotonic() - renewed > policy.lease.total_seconds() / 3:  # a slow batch keeps its lease
            renew(ledger.owner, now() + policy.lease)
            db.session.commit()
            renewed = time.monotonic()
        done.add(item.id)
        last = position == len(batch) and connection.messages + 1 < policy.connection_max_messages
        outcomes.append(attempt(ledger, item, connection.send, pacer, policy, following.prefetch if last else None))
        connection.messages += 1
        connection.over = outcomes[-1] is not None and outcomes[-1].session_over


def attempt(ledger: Ledger, item: Claimed, send: Send, pacer: Pacer, policy: OutboxPolicy,
            also: Callable[[], None] | None = None) -> Outcome | None:
    """Deliver one message, the last one's outcome committed meanwhile (and `also` done), and hold what became of
    this one: the failure's outcome, or None once sent."""
    meanwhile = ledger.flush if also is None else lambda: (ledger.flush(), also())
    try:
        delivery = send(item.envelope, meanwhile)
    except MailError as error:
        outcome = outcome_of(error)
        ledger.hold(failure_record(item, outcome, policy))
        if outcome.throttled:
            pacer.throttled()
        return outcome
    ledger.hold(sent_record(item, delivery, policy))
    return None


def ready_transport(mail: MailServer, runtime: Runtime) -> Transport:
    """The saved email server's transport, once nothing stops sending that only an administrator can fix (no usable
    email server, nobody authorized), found without asking any server: else MailNotConfigured or NotAuthorized."""
    transport = transport_for(mail, runtime)
    transport.check_ready()
    return transport


def blocker(runtime: Runtime) -> str | None:
    """Why nothing can be sent until an administrator acts; None when sending can be tried."""
    try:
        ready_transport(get_mail_server(), runtime)
    except (MailNotConfigured, NotAuthorized) as error:
        return error.message
    return None
