"""Incidents on PostgreSQL: several processes checking at the same moment open each incident once and tell it once,
and its reminder once."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import NotificationSettings, OAuthSettings
from tests.notify.helpers import age_incident, run_checks
from tests.servers.webhook_server import WebhookTestServer

pytestmark = pytest.mark.postgres
PROCESSES = 4


def check_all_at_once(app) -> None:
    """Each thread a process of its own: its own session, all starting together."""
    start, failures = threading.Barrier(PROCESSES), []

    def check():
        start.wait(timeout=30)
        try:
            run_checks(app)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=check) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []


def test_checks_at_once_tell_once_on_postgresql(make_app, postgres_db):
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_db.url)
    with WebhookTestServer() as webhook, app.app_context():
        db.session.add(OAuthSettings(id=1, provider="microsoft", tenant="contoso.com", client_id="console",
                                     client_secret="a secret",
                                     client_secret_expires_on=(datetime.now(UTC) + timedelta(days=3)).date()))
        db.session.add(NotificationSettings(id=1, webhook_urls=webhook.url))
        db.session.commit()
        check_all_at_once(app)
        told = sorted((r.json()["event"], r.json()["state"]) for r in webhook.requests)
        assert told == [("client_secret_expires_30", "opened"), ("client_secret_expires_7", "opened")]
        age_incident(app, "client_secret_expires_7", timedelta(days=1))
        check_all_at_once(app)
        assert [(r.json()["event"], r.json()["state"]) for r in webhook.requests[2:]] == [
            ("client_secret_expires_7", "reminder")]
