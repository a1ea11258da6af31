"""GET /metrics: what Prometheus reads from the database, and who may read it."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection, OutboxMessage
from ddenterpriseapi.outbox import statuses
from ddenterpriseapi.outbox.totals import record_purged
from tests.helpers import (
    CLIENT,
    add_rows,
    age_app_tokens,
    metric_samples,
    outbox_message,
    worker_heartbeat,
    worker_round,
)

URL = "/ddenterpriseapi/metrics"
REMOTE = {"REMOTE_ADDR": "203.0.113.5"}
TOKEN = "scrape-token-4f1c9a"
M = "ddenterpriseapi_"
REFRESHED_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def scrape(client, **kwargs) -> dict[str, float]:
    """The samples of one scrape, which must succeed."""
    response = client.get(URL, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    return metric_samples(response.get_data(as_text=True))


def status_counts(samples: dict[str, float]) -> dict[str, float]:
    """The messages gauge, by status."""
    return {status: samples[f'{M}messages{{status="{status}"}}'] for status in statuses.ALL}


def test_every_metric_from_the_database(app, client):
    add_rows(app, *[outbox_message(statuses.QUEUED, timedelta(minutes=minutes)) for minutes in (1, 10)],
        outbox_message(statuses.DEFERRED, timedelta(minutes=20)), outbox_message(statuses.SENDING, timedelta(hours=2)),
        outbox_message(statuses.HELD, timedelta(hours=3)), outbox_message(statuses.FAILED, timedelta(days=1)),
        *[outbox_message(statuses.SENT, timedelta(hours=5)) for _ in range(3)],
        worker_heartbeat(timedelta(seconds=7)), worker_heartbeat(timedelta(minutes=30), worker="oldhost:1"),
        OAuthConnection(provider="google", access_token_expires_at=datetime.now(UTC) + timedelta(minutes=30),
                        last_refresh_at=REFRESHED_AT))
    with app.app_context():
        record_purged(sent=5, failed=2)
        db.session.commit()

    samples = scrape(client)

    assert status_counts(samples) == {"queued": 2, "sending": 1, "sent": 3, "deferred": 1, "held": 1, "failed": 1,
                                      "cancelled": 0}
    assert samples[M + "oldest_waiting_message_age_seconds"] == pytest.approx(20 * 60, abs=5)  # sending: not waiting
    assert samples[M + "messages_sent_total"] == 3 + 5
    assert samples[M + "messages_failed_total"] == 1 + 2
    assert samples[M + "access_token_expires_in_seconds"] == pytest.approx(30 * 60, abs=5)
    assert samples[M + "access_token_last_refresh_timestamp_seconds"] == REFRESHED_AT.timestamp()
    assert samples[M + "reauthorization_required"] == 0
    assert samples[M + "worker_heartbeat_age_seconds"] == pytest.approx(7, abs=5)  # the newest heartbeat


def test_a_fresh_console_reports_zeros_and_omits_what_it_cannot_measure(client):
    samples = scrape(client)
    assert status_counts(samples) == dict.fromkeys(statuses.ALL, 0)
    assert samples[M + "oldest_waiting_message_age_seconds"] == 0
    assert samples[M + "messages_sent_total"] == samples[M + "messages_failed_total"] == 0
    assert samples[M + "reauthorization_required"] == 0
    for absent in ("access_token_expires_in_seconds", "access_token_last_refresh_timestamp_seconds",
                   "worker_heartbeat_age_seconds"):
        assert M + absent not in samples


def test_reauthorization_required(app, client):
    add_rows(app, OAuthConnection(provider="microsoft", reauthorization_error="The provider refused the refresh token.",
                             access_token_expires_at=datetime.now(UTC) - timedelta(hours=2)))
    samples = scrape(client)
    assert samples[M + "reauthorization_required"] == 1
    assert samples[M + "access_token_expires_in_seconds"] == pytest.approx(-2 * 3600, abs=5)
    assert M + "access_token_last_refresh_timestamp_seconds" not in samples  # never refreshed since authorizing


def test_totals_stay_monotonic_when_the_retention_purge_removes_rows(app, client):
    add_rows(app, *[outbox_message(statuses.SENT) for _ in range(4)], outbox_message(statuses.FAILED))
    assert scrape(client)[M + "messages_sent_total"] == 4
    for _ in range(2):  # the first purge creates the totals row, the second adds to it
        with app.app_context():
            purged = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.status == statuses.SENT)
                                        .limit(2)).all()
            for message in purged:
                db.session.delete(message)
            record_purged(sent=len(purged), failed=0)
            db.session.commit()
        samples = scrape(client)
        assert samples[M + "messages_sent_total"] == 4 and samples[M + "messages_failed_total"] == 1
    assert status_counts(samples)["sent"] == 0


def test_refused_to_other_addresses(client):
    response = client.get(URL, environ_base=REMOTE)
    assert response.status_code == 403
    assert "ddenterpriseapi_" not in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_answered_on_loopback_without_a_login(client, address):
    assert M + "messages_sent_total" in scrape(client, environ_base={"REMOTE_ADDR": address})


def test_bearer_token_from_elsewhere(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert M + "messages_sent_total" in scrape(client, environ_base=REMOTE, headers=bearer)
    for refused in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", TOKEN, ""):
        assert client.get(URL, environ_base=REMOTE, headers={"Authorization": refused}).status_code == 403, refused


def test_no_token_configured_accepts_no_bearer(client):
    for guess in ("Bearer None", "Bearer ", "Bearer"):
        assert client.get(URL, environ_base=REMOTE, headers={"Authorization": guess}).status_code == 403, guess


def test_numeric_token_from_the_environment(make_env_app):
    client = make_env_app(DDE_METRICS_TOKEN="1234567890").test_client()  # JSON-parsed into a number
    assert M + "messages_sent_total" in scrape(client, environ_base=REMOTE,
                                               headers={"Authorization": "Bearer 1234567890"})


def test_behind_a_trusted_proxy_the_client_address_counts(make_app):
    """The proxy connects from 127.0.0.1, but the browser it forwards for is elsewhere."""
    client = make_app(TRUSTED_PROXIES=1).test_client()
    response = client.get(URL, headers={"X-Forwarded-For": "203.0.113.5"})
    assert response.status_code == 403
    assert M + "messages_sent_total" in scrape(client, headers={"X-Forwarded-For": "127.0.0.1"})


def test_app_only_sign_in_reads_the_app_token_cache(microsoft_application, microsoft_server, oauth_app):
    client = oauth_app.test_client()
    add_rows(oauth_app, OAuthConnection(provider="microsoft", reauthorization_error="left over",  # not in use
                                        access_token_expires_at=datetime.now(UTC) - timedelta(days=9)))
    samples = scrape(client)
    assert samples[M + "reauthorization_required"] == 0  # the leftover delegated connection does not count
    assert M + "access_token_expires_in_seconds" not in samples  # no app token yet
    worker_round(oauth_app)
    samples = scrape(client)
    assert samples[M + "access_token_expires_in_seconds"] == pytest.approx(3600, abs=30)
    assert samples[M + "access_token_last_refresh_timestamp_seconds"] == pytest.approx(
        datetime.now(UTC).timestamp(), abs=30)
    assert samples[M + "reauthorization_required"] == 0
    microsoft_server.expire_client_secret(CLIENT[0])
    age_app_tokens(oauth_app)
    worker_round(oauth_app)  # the token check finds the credentials rejected
    assert scrape(client)[M + "reauthorization_required"] == 1
    help_line = next(line for line in client.get(URL).get_data(as_text=True).splitlines()
                     if line.startswith(f"# HELP {M}reauthorization_required"))
    assert "credentials rejected" in help_line
