"""The delivery worker: drains the outbox, holds and releases messages as the settings allow, keeps the token alive,
writes its heartbeat and purges old records. Stops cleanly when told to, finishing the message in flight."""

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..mail.server import get_mail_server
from ..models import OutboxMessage, WorkerHeartbeat
from ..notify.watch import check_everything, guarded
from ..oauth.errors import OAuthError
from ..oauth.settings import get_settings
from ..oauth.tokens import get_connection, refresh_now
from ..runtime import Runtime
from .claims import claim, hold_all, release_held
from .delivery import blocker, deliver_batch, now
from .idempotency import forget_expired
from .pacing import Pacer
from .policy import OutboxPolicy
from .statuses import FAILED, FINAL, SENT
from .totals import record_purged

log = logging.getLogger(__name__)  # a child of the app's logger, with its handlers
HEARTBEAT_SECONDS = 5
LIVE_WORKER_SECONDS = 30  # a worker seen this recently shares the sending rate
MAINTENANCE_SECONDS = 600
NOTIFY_SECONDS = 60


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Worker:
    """One delivery worker; run() until stop is set."""

    def __init__(self, runtime: Runtime, policy: OutboxPolicy, stop: threading.Event, name: str | None = None):
        self.runtime, self.policy, self.stop = runtime, policy, stop
        self.name = name or worker_name()
        self.last_beat = self.last_maintenance = self.last_notify = 0.0
        self.pacer = Pacer(None)

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.step():
                self.stop.wait(self.policy.poll_interval)

    def step(self) -> bool:
        """One round of duties; whether there may be more to deliver at once."""
        self.heartbeat()
        self.notify()
        self.maintain()
        self.keep_token_alive()
        reason = blocker(self.runtime)
        if reason:
            hold_all(reason)
            return False
        release_held(now())
        batch = claim(self.name, now(), self.policy.batch_size, self.policy.lease)
        if not batch:
            return False
        self.pacer.rate, self.pacer.workers = self.sending_rate(), self.live_workers()
        deliver_batch(self.runtime, self.policy, self.name, batch, self.pacer, self.stop)
        return True

    def sending_rate(self) -> int | None:
        """The provider preset's messages per minute (OAuth), else unpaced."""
        if get_mail_server().authentication != "oauth":
            return None
        return self.runtime.providers[get_settings().provider].sending_rate

    def live_workers(self) -> int:
        since = now() - timedelta(seconds=LIVE_WORKER_SECONDS)
        return db.session.scalar(select(func.count()).where(WorkerHeartbeat.seen_at >= since)) or 1

    def heartbeat(self) -> None:
        """Tell the pages this worker is alive, every few seconds."""
        if time.monotonic() - self.last_beat < HEARTBEAT_SECONDS:
            return
        self.last_beat = time.monotonic()
        beat = db.session.get(WorkerHeartbeat, self.name) or WorkerHeartbeat(id=self.name)
        beat.seen_at = now()
        db.session.add(beat)
        db.session.commit()

    def notify(self) -> None:
        """About once a minute: tell someone what needs attention (notify/), never stopping delivery."""
        if time.monotonic() - self.last_notify < NOTIFY_SECONDS:
            return
        self.last_notify = time.monotonic()
        guarded(check_everything, self.runtime, now())

    def keep_token_alive(self) -> None:
        """Refresh at least every REFRESH_INTERVAL, mail or not: an unused refresh token ages out, and a dead one
        is found now rather than at the next report."""
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

    def maintain(self) -> None:
        """Every few minutes: purge what retention no longer keeps, and stale heartbeats and idempotency keys."""
        if time.monotonic() - self.last_maintenance < MAINTENANCE_SECONDS:
            return
        self.last_maintenance = time.monotonic()
        purge(self.policy, now())


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
