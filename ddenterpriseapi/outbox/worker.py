"""The delivery worker: drains the outbox, holds and releases messages as the settings allow, keeps the token alive,
writes its heartbeat and purges old records. Stops cleanly when told to, finishing the message in flight."""

import logging
import os
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..mail.errors import MailNotConfigured
from ..mail.server import get_mail_server
from ..mail.status import record_outcome
from ..models import MailServer, OutboxMessage, WorkerHeartbeat
from ..notify.watch import check_everything, guarded
from ..oauth.errors import OAuthError
from ..oauth.settings import chosen_provider, get_settings
from ..oauth.source import app_token_keys, chosen_transport, credential_source
from ..oauth.tokens import NotAuthorized, get_connection, refresh_now
from ..runtime import Runtime
from .claims import Claimed, anything_due, claim, first_due_sender, hold_all, release_held
from .delivery import deliver, now, ready_transport
from .idempotency import forget_expired
from .mailboxes import sending_mailboxes
from .outcomes import Outcome
from .pacing import Pacer
from .policy import OutboxPolicy
from .statuses import FAILED, FINAL, SENT
from .totals import record_purged

log = logging.getLogger(__name__)  # a child of the app's logger, with its handlers
HEARTBEAT_SECONDS = 5
RELEASE_SECONDS = 5  # held messages go within this long of an administrator's fix
LIVE_WORKER_SECONDS = 30  # a worker seen this recently shares the sending rate
SUCCESS_RECORD_SECONDS = 10  # the dashboard's latest delivery, written at most this often by one worker
TOKEN_CHECK_SECONDS = 60  # how often the token's age is looked at (REFRESH_INTERVAL is a day)
MAINTENANCE_SECONDS = 600
NOTIFY_SECONDS = 60


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Every:
    """A duty done at most once per period (the first time at once)."""

    def __init__(self, seconds: float):
        self.seconds, self.last = seconds, None

    def due(self) -> bool:
        if self.last is not None and time.monotonic() - self.last < self.seconds:
            return False
        self.last = time.monotonic()
        return True


class Worker:
    """One delivery worker; run() until stop is set."""

    def __init__(self, runtime: Runtime, policy: OutboxPolicy, stop: threading.Event, name: str | None = None):
        self.runtime, self.policy, self.stop = runtime, policy, stop
        self.name = name or worker_name()
        self.pacer = Pacer(None)
        self.beat, self.release = Every(HEARTBEAT_SECONDS), Every(RELEASE_SECONDS)
        self.token_check, self.success_record = Every(TOKEN_CHECK_SECONDS), Every(SUCCESS_RECORD_SECONDS)
        self.maintenance, self.notification = Every(MAINTENANCE_SECONDS), Every(NOTIFY_SECONDS)

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.step():
                self.stop.wait(self.policy.poll_interval)

    def step(self) -> bool:
        """One round of duties; whether there may be more to deliver at once."""
        if self.beat.due():
            self.heartbeat()
        if self.token_check.due():
            self.keep_token_alive()  # first: what it finds is told by the checks just below
        if self.notification.due():
            guarded(check_everything, self.runtime, now())  # never stops delivery
        if self.maintenance.due():
            purge(self.policy, now())
        releasing = self.release.due()
        if not releasing and not anything_due(now()):
            return False  # an idle look reads no setting
        mail = get_mail_server()
        try:
            transport = ready_transport(mail, self.runtime)
        except (MailNotConfigured, NotAuthorized) as error:
            hold_all(error.message)  # released within RELEASE_SECONDS of the fix
            return False
        if releasing:
            release_held(now())
        rate = self.sending_rate(mail)
        sender = first_due_sender(now()) if sending_mailboxes(mail) is not None else None
        batch = claim(self.name, now(), self.policy.batch_size, self.policy.lease, sender)
        if not batch:
            return False
        self.pacer.rate, self.pacer.workers = rate, self.live_workers()
        if sender is not None:  # app-only sign-in: one mailbox per connection, signed in as itself
            transport = replace(transport, signs_in_as=sender)
        self.record(deliver(transport, self.policy, self.name, batch, self.pacer, self.stop,
                            partial(self.next_batch, sender)))
        return True

    def next_batch(self, sender: str | None) -> list[Claimed]:
        """More due messages for the open connection (from its mailbox, under app-only sign-in), the heartbeat kept
        meanwhile."""
        if self.beat.due():
            self.heartbeat()
        return claim(self.name, now(), self.policy.batch_size, self.policy.lease, sender)

    def sending_rate(self, mail: MailServer) -> int | None:
        """The provider preset's messages per minute (OAuth), else unpaced."""
        if mail.authentication != "oauth":
            return None
        return self.runtime.providers[chosen_provider()].sending_rate

    def live_workers(self) -> int:
        since = now() - timedelta(seconds=LIVE_WORKER_SECONDS)
        return db.session.scalar(select(func.count()).where(WorkerHeartbeat.seen_at >= since)) or 1

    def heartbeat(self) -> None:
        """Tell the pages this worker is alive."""
        beat = db.session.get(WorkerHeartbeat, self.name) or WorkerHeartbeat(id=self.name)
        beat.seen_at = now()
        db.session.add(beat)
        db.session.commit()

    def record(self, outcomes: list[Outcome | None]) -> None:
        """The dashboard's latest failure of a batch, and its latest success (None) now and then."""
        failures = [outcome for outcome in outcomes if outcome is not None]
        if failures:
            record_outcome(failures[-1].detail, test=False)
        if None in outcomes and self.success_record.due():
            record_outcome(None, test=False)

    def keep_token_alive(self) -> None:
        """Delegated sign-in: refresh at least every REFRESH_INTERVAL, mail or not: an unused refresh token ages out,
        and a dead one is found now rather than at the next report. App-only sign-in: its twin, check_app_token."""
        settings = get_settings()
        if app_token_keys(settings) is not None:
            self.check_app_token(settings)  # a leftover delegated connection is not refreshed: nothing uses it
            return
        connection = get_connection()
        if connection is None or connection.needs_reauthorization:
            db.session.rollback()
            return
        last = connection.last_refresh_at or connection.authorized_at
        if last is None or now() - last < self.policy.refresh_interval:
            db.session.rollback()
            return
        try:
            refresh_now(self.runtime)
        except OAuthError as error:
            log.warning("Scheduled token refresh failed: %s", error.message)


    def check_app_token(self, settings) -> None:
        """App-only sign-in: the default mailbox's token, mail or not, so that an expired secret or a revoked
        delegation is recorded (and told) now rather than at the next report. The cache answers until the token nears
        its expiry, and a recorded refusal until REJECTION_RECHECK: at most one token call per token lifetime. A
        Google mailbox's token is its own, but the default one's tells whether the service account is still let in."""
        try:
            credential_source(settings, self.runtime, chosen_transport()).access_token()
        except NotAuthorized as error:  # a refusal is recorded and told, a missing field shown: no log each minute
            log.debug("App-only token check: %s", error.message)
        except OAuthError as error:
            log.warning("App-only token check failed: %s", error.message)
        finally:
            db.session.rollback()


def purge(policy: OutboxPolicy, moment: datetime) -> int:
    """Drop sent bodies past OUTBOX_KEEP_SENT and finished records past OUTBOX_RETENTION_DAYS; how many records."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status == SENT, OutboxMessage.body.is_not(None),
                                                   OutboxMessage.sent_at < moment - policy.keep_sent)
                       .values(body=None))
    purged = db.session.scalars(delete(OutboxMessage).where(
        OutboxMessage.status.in_(FINAL), OutboxMessage.finished_at < moment - policy.retention)
        .returning(OutboxMessage.status)).all()
    record_purged(sent=purged.count(SENT), failed=purged.count(FAILED))  # the metrics' totals never go down
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < moment - timedelta(days=7)))
    forget_expired(moment)
    db.session.commit()
    return len(purged)
