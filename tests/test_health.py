"""GET /healthz: the database, the delivery worker's heartbeat and the queue's age, without a login."""

from datetime import timedelta

import pytest

from ddenterpriseapi import create_app
from ddenterpriseapi.outbox import statuses
from tests.helpers import add_rows, dispose, outbox_message, worker_heartbeat

URL = "/ddenterpriseapi/healthz"


def health(client) -> dict:
    """The report, which must come with 200 whatever it says."""
    response = client.get(URL)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_a_worker_seen_lately_and_an_empty_queue_are_ok(app, client):
    add_rows(app, worker_heartbeat(timedelta(seconds=4)))
    report = health(client)
    assert report.pop("worker") == {"seen_seconds_ago": pytest.approx(4, abs=2)}
    assert report == {"status": "ok", "database": "ok", "queue": {"oldest_seconds": 0, "depth": 0}, "reasons": []}


def test_no_worker_ever_is_degraded(client):
    report = health(client)
    assert report["status"] == "degraded" and report["reasons"] == ["worker_stale"]
    assert report["worker"] == {"seen_seconds_ago": None}


def test_a_worker_silent_for_five_minutes_is_degraded(app, client):
    add_rows(app, worker_heartbeat(timedelta(minutes=5, seconds=20)))
    report = health(client)
    assert report["status"] == "degraded" and report["reasons"] == ["worker_stale"]
    assert report["worker"]["seen_seconds_ago"] == pytest.approx(320, abs=2)


def test_a_message_waiting_for_a_quarter_of_an_hour_is_degraded(app, client):
    add_rows(app, worker_heartbeat(timedelta(seconds=2)), outbox_message(statuses.QUEUED, timedelta(minutes=3)),
        outbox_message(statuses.DEFERRED, timedelta(minutes=16)), outbox_message(statuses.SENDING, timedelta(hours=1)),
        outbox_message(statuses.HELD), outbox_message(statuses.SENT, timedelta(days=2)),
        outbox_message(statuses.FAILED), outbox_message(statuses.CANCELLED))
    report = health(client)
    assert report["status"] == "degraded" and report["reasons"] == ["queue_stale"]
    assert report["queue"] == {"oldest_seconds": pytest.approx(16 * 60, abs=2), "depth": 4}  # only the unfinished


def test_both_reasons_and_the_configured_limits(make_app):
    app = make_app()
    add_rows(app, worker_heartbeat(timedelta(hours=2)), outbox_message(statuses.QUEUED, timedelta(hours=3)))
    report = health(app.test_client())
    assert report["reasons"] == ["worker_stale", "queue_stale"]
    assert report["worker"]["seen_seconds_ago"] == pytest.approx(2 * 3600, abs=2)
    assert report["queue"]["oldest_seconds"] == pytest.approx(3 * 3600, abs=2)
    patient = make_app(WORKER_STALE_AFTER=3 * 3600, QUEUE_STALE_AFTER=4 * 3600)  # the same database
    assert health(patient.test_client())["status"] == "ok"


def test_unreachable_database_is_503(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'console.db'}"})
    response = app.test_client().get(URL)
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable"}
    dispose([app])
