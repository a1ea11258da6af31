"""How the outbox retries and keeps messages: backoff, age limit, batch and connection limits, retention."""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class OutboxPolicy:
    """The OUTBOX_* settings as the worker uses them."""

    retry_first: float = 60
    retry_max: float = 3600
    max_age: timedelta = timedelta(days=2)
    keep_sent: timedelta = timedelta(0)
    retention: timedelta = timedelta(days=30)
    batch_size: int = 50
    connection_max_messages: int = 500
    connection_max_age: float = 300
    poll_interval: float = 1
    refresh_interval: timedelta = timedelta(days=1)
    lease: timedelta = timedelta(minutes=2)  # renewed at each message: only a dead worker's lease runs out

    @classmethod
    def from_config(cls, config: Mapping) -> "OutboxPolicy":
        return cls(
            retry_first=float(config["OUTBOX_RETRY_FIRST"]),
            retry_max=float(config["OUTBOX_RETRY_MAX"]),
            max_age=timedelta(seconds=float(config["OUTBOX_MAX_AGE"])),
            keep_sent=timedelta(seconds=float(config["OUTBOX_KEEP_SENT"])),
            retention=timedelta(days=float(config["OUTBOX_RETENTION_DAYS"])),
            batch_size=int(config["OUTBOX_BATCH_SIZE"]),
            connection_max_messages=int(config["OUTBOX_CONNECTION_MAX_MESSAGES"]),
            connection_max_age=float(config["OUTBOX_CONNECTION_MAX_AGE"]),
            poll_interval=float(config["WORKER_POLL_INTERVAL"]),
            refresh_interval=timedelta(seconds=float(config["REFRESH_INTERVAL"])),
            lease=timedelta(seconds=float(config["OUTBOX_LEASE"])),
        )

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: about retry_first, doubling per attempt up to retry_max, each spread by
        a fifth either way so that messages deferred together do not all come back together."""
        base = min(self.retry_first * 2 ** max(attempts - 1, 0), self.retry_max)
        return timedelta(seconds=base * random.uniform(0.8, 1.2))
