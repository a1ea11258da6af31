"""The console's Prometheus metrics, read from the database at each scrape: every gunicorn worker (and every
instance sharing the database) answers the same, and no process counts anything in its own memory."""

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AppToken, OAuthConnection, OAuthSettings
from ..oauth.app_tokens import recorded_rejection
from ..oauth.source import app_token_keys
from ..outbox.monitoring import last_worker_seen, read_queue, seconds_since
from ..outbox.totals import read_totals

PREFIX = "ddenterpriseapi_"


class ConsoleCollector:
    """A prometheus_client collector over one database session, for generate_latest."""

    def __init__(self, session: Session):
        self.session = session

    def collect(self) -> Iterator[Metric]:
        """Every metric, as the database stands now."""
        now = datetime.now(UTC)
        yield from self.outbox_metrics(now)
        yield from self.oauth_metrics(now)
        yield gauge("worker_heartbeat_age_seconds", "Seconds since a delivery worker was last seen (absent when "
                    "none ever ran).", seconds_since(last_worker_seen(self.session), now))

    def outbox_metrics(self, now: datetime) -> Iterator[Metric]:
        """Messages per status, the age of the oldest waiting one, and the sent and failed totals."""
        queue = read_queue(self.session)
        messages = GaugeMetricFamily(PREFIX + "messages", "Outbox messages in each status.", labels=["status"])
        for status, count in queue.counts.items():
            messages.add_metric([status], count)
        yield messages
        yield gauge("oldest_waiting_message_age_seconds", "Age of the oldest queued or deferred message (0 when "
                    "none waits).", seconds_since(queue.oldest_waiting_since, now) or 0)
        totals = read_totals(self.session)
        yield CounterMetricFamily(PREFIX + "messages_sent_total", "Messages the server accepted, ever.", totals.sent)
        yield CounterMetricFamily(PREFIX + "messages_failed_total", "Messages refused for good or too old, ever.",
                                  totals.failed)

    def oauth_metrics(self, now: datetime) -> Iterator[Metric]:
        """The access token's remaining life, the last refresh, and whether an administrator must act on the OAuth
        page: the delegated connection's, or under app-only sign-in the app token cache's (the default mailbox's row).
        Only the columns needed are read: no stored token is decrypted for a scrape."""
        settings = self.session.get(OAuthSettings, 1)
        keys = app_token_keys(settings, self.session) if settings is not None else None
        expires_at, refreshed_at, blocked = self.app_token_state(keys) if keys is not None else self.delegated_state()
        yield gauge("access_token_expires_in_seconds", "Seconds until the access token expires (under app-only "
                    "sign-in the default mailbox's; absent when there is none).",
                    expires_at and (expires_at - now).total_seconds())
        yield gauge("access_token_last_refresh_timestamp_seconds", "Unix time of the last successful token refresh, "
                    "or under app-only sign-in of the last token obtained (absent before the first one).",
                    refreshed_at and refreshed_at.timestamp())
        yield gauge("reauthorization_required", "1 when an administrator must act on the OAuth page: delegated "
                    "sign-in, the provider refused the refresh token or the OAuth parameters changed (click "
                    "Authorize); app-only sign-in, credentials rejected: the provider refused the application's or "
                    "the service account's credentials (save working ones, or fix the grant at the provider).",
                    int(blocked))

    def delegated_state(self) -> tuple[datetime | None, datetime | None, bool]:
        """The delegated connection's expiry, last refresh, and whether it needs authorizing again."""
        row = self.session.execute(select(
            OAuthConnection.access_token_expires_at, OAuthConnection.last_refresh_at,
            OAuthConnection.reauthorization_error).where(OAuthConnection.id == 1)).one_or_none()
        expires_at, refreshed_at, reauthorization_error = row or (None, None, None)
        return expires_at, refreshed_at, reauthorization_error is not None

    def app_token_state(self, keys: tuple[str, ...]) -> tuple[datetime | None, datetime | None, bool]:
        """The default mailbox's cached token (the application's, for Microsoft): its expiry and when it was
        obtained; and whether a refusal of the credentials stands on any of the rows in use."""
        row = self.session.execute(select(AppToken.expires_at, AppToken.obtained_at)
                                   .where(AppToken.key == keys[0])).one_or_none() if keys else None
        expires_at, obtained_at = row or (None, None)
        return expires_at, obtained_at, bool(keys) and recorded_rejection(keys, self.session) is not None

def gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    """A gauge with its one sample, or with none when there is nothing to measure (rather than a made-up 0 or NaN)."""
    family = GaugeMetricFamily(PREFIX + name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family
