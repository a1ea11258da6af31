"""The delivery worker against a real SMTP server that fails on demand: temporary failures are deferred and
delivered later, permanent ones fail at once, what only an administrator can fix is held and then released."""

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection, OutboxAttempt, OutboxMessage
from ddenterpriseapi.outbox.totals import DeliveredTotals, read_totals
from ddenterpriseapi.outbox.worker import Worker, purge
from tests.helpers import (
    FAST_OUTBOX,
    RunningWorker,
    create_api_key,
    outbox_row,
    post_mail,
    queue_mail,
    refreshes,
    wait_for_status,
)


def attempts_of(app, message_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(a.outcome, a.detail) for a in db.session.query(OutboxAttempt).filter_by(message_id=message_id)
                .order_by(OutboxAttempt.id)]


def test_a_busy_server_defers_and_the_message_goes_when_it_recovers(sending, worker, admin_client, oauth_app):
    smtp, key = sending
    smtp.reply_at_connect("421 4.3.2 Service not available, try later")
    message_id = queue_mail(admin_client, key)
    row = wait_for_status(oauth_app, message_id, "deferred")
    assert "421 4.3.2" in row["last_reply"] and row["next_attempt_at"] > datetime.now(UTC) - timedelta(seconds=1)
    smtp.heal()
    row = wait_for_status(oauth_app, message_id, "sent")
    assert row["attempts"] >= 2 and smtp.wait_for_messages(1)[0].message["Subject"] == "Daily report"
    outcomes = [outcome for outcome, _ in attempts_of(oauth_app, message_id)]
    assert outcomes[0] == "deferred" and outcomes[-1] == "sent"


def test_a_temporary_refusal_after_data_is_retried(sending, worker, admin_client, oauth_app):
    smtp, key = sending
    smtp.reply_to_data("451 4.3.0 Temporary failure, try again")
    message_id = queue_mail(admin_client, key)
    row = wait_for_status(oauth_app, message_id, "sent")
    assert row["attempts"] == 2 and len(smtp.wait_for_messages(1)) == 1
    assert attempts_of(oauth_app, message_id)[0][0] == "deferred"
    assert "451 4.3.0" in attempts_of(oauth_app, message_id)[0][1]


def test_a_permanent_refusal_fails_at_once_and_keeps_the_body_to_send_again(sending, worker, admin_client,
                                                                              oauth_app):
    smtp, key = sending
    smtp.reply_to_data("554 5.6.0 Message rejected as spam")
    message_id = queue_mail(admin_client, key)
    row = wait_for_status(oauth_app, message_id, "failed")
    assert row["attempts"] == 1 and "554 5.6.0" in row["last_reply"] and row["finished_at"]
    assert row["body"] and smtp.messages == []


def test_refused_recipients_are_recorded_with_the_replies(sending, worker, admin_client, oauth_app):
    smtp, key = sending
    smtp.refuse_recipients({"gone@example.org": "550 5.1.1 User unknown"})
    response = post_mail(admin_client, key, {"to": ["boss@example.org", "gone@example.org"], "subject": "s",
                                             "text": "t"})
    row = wait_for_status(oauth_app, response.json["id"], "sent")
    assert row["refused_recipients"] == {"gone@example.org": "550 5.1.1 User unknown"}
    assert smtp.wait_for_messages(1)[0].rcpt_tos == ["boss@example.org"]
    everyone_gone = queue_mail(admin_client, key, to="gone@example.org")
    row = wait_for_status(oauth_app, everyone_gone, "failed")
    assert row["refused_recipients"] == {"gone@example.org": "550 5.1.1 User unknown"}


def test_a_dead_refresh_token_holds_mail_until_authorized_again(sending, worker, admin_client, oauth_app, google,
                                                                 google_server):
    smtp, key = sending
    google_server.revoke_all()
    google_server.expire_access_tokens()
    with oauth_app.app_context():
        db.session.get(OAuthConnection, 1).access_token_expires_at = datetime.now(UTC)
        db.session.commit()
    first, second = queue_mail(admin_client, key, "first"), queue_mail(admin_client, key, "second")
    row = wait_for_status(oauth_app, first, "held")
    assert "authorize" in row["last_error"].lower() and row["next_attempt_at"] is None
    assert wait_for_status(oauth_app, second, "held")["next_attempt_at"] is None
    held_refreshes = len(refreshes(google_server))
    time.sleep(0.5)
    assert len(refreshes(google_server)) == held_refreshes  # held mail does not hammer the provider
    google.connect()  # the administrator authorizes again; nobody submits anything
    assert wait_for_status(oauth_app, first, "sent")["status"] == wait_for_status(oauth_app, second, "sent")["status"]
    assert sorted(m.message["Subject"] for m in smtp.wait_for_messages(2)) == ["first", "second"]


def test_without_an_email_server_mail_is_held_then_released(google, mail, make_smtp, admin_client, oauth_app, worker):
    google.connect()
    key = create_api_key(admin_client)
    response = post_mail(admin_client, key, {"from": "reports@example.com", "to": ["boss@example.org"],
                                             "subject": "waiting", "text": "t"})
    message_id = response.json["id"]
    assert "Configure the email server first" in wait_for_status(oauth_app, message_id, "held")["last_error"]
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    wait_for_status(oauth_app, message_id, "sent")
    assert smtp.wait_for_messages(1)[0].message["Subject"] == "waiting"


def test_a_message_failing_too_long_fails_with_the_last_error(sending, admin_client, oauth_app):
    smtp, key = sending
    smtp.stop_listening()
    worker = RunningWorker(oauth_app, replace(FAST_OUTBOX, max_age=timedelta(seconds=1))).start()
    try:
        message_id = queue_mail(admin_client, key)
        row = wait_for_status(oauth_app, message_id, "failed")
    finally:
        worker.halt()
    assert row["last_error"].startswith("Gave up after") and "refused the connection" in row["last_error"]


def test_mail_is_paced_to_the_providers_rate(sending, admin_client, oauth_app):
    smtp, key = sending
    worker = RunningWorker(oauth_app, paced=True).start()  # Google's preset: 60 a minute, one a second
    try:
        ids = [queue_mail(admin_client, key, f"n{index}") for index in range(3)]
        for message_id in ids:
            wait_for_status(oauth_app, message_id, "sent")
    finally:
        worker.halt()
    gaps = [later - earlier for earlier, later in zip(smtp.accepted_times, smtp.accepted_times[1:])]
    assert len(gaps) == 2 and min(gaps) > 0.9, gaps


def test_a_throttling_server_is_obeyed_and_everything_arrives(sending, worker, admin_client, oauth_app):
    smtp, key = sending
    smtp.throttle(2, window=1.0)
    response = post_mail(admin_client, key, {"messages": [{"to": ["boss@example.org"], "subject": f"n{index}",
                                                           "text": "t"} for index in range(5)]})
    for answer in response.json:
        wait_for_status(oauth_app, answer["id"], "sent", timeout=20)
    assert sorted(m.message["Subject"] for m in smtp.messages) == [f"n{index}" for index in range(5)]
    deferred = [detail for answer in response.json for outcome, detail in attempts_of(oauth_app, answer["id"])
                if outcome == "deferred"]
    assert deferred and all("4.7.0" in detail for detail in deferred)


def test_the_worker_keeps_the_refresh_token_alive_without_mail(sending, oauth_app, google_server):
    with oauth_app.app_context():  # the last refresh an hour ago, before the worker's first token check
        row = db.session.get(OAuthConnection, 1)
        row.authorized_at = row.last_refresh_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    worker = RunningWorker(oauth_app, replace(FAST_OUTBOX, refresh_interval=timedelta(minutes=30))).start()
    try:
        deadline = time.monotonic() + 10
        while not refreshes(google_server):
            assert time.monotonic() < deadline, "no refresh"
            time.sleep(0.05)
    finally:
        worker.halt()
    assert refreshes(google_server)[0]["ok"]


@pytest.mark.parametrize("keep_sent", [timedelta(0), timedelta(hours=1)])
def test_retention_drops_bodies_then_records(oauth_app, keep_sent):
    now = datetime.now(UTC)
    policy = replace(FAST_OUTBOX, keep_sent=keep_sent, retention=timedelta(days=30))
    with oauth_app.app_context():
        def message(**fields):
            row = OutboxMessage(message_id="<m@example.com>", sender="a@example.com", recipients=["b@example.org"],
                                body=b"Subject: s\r\n\r\nbody\r\n", **fields)
            db.session.add(row)
            return row
        recent = message(status="sent", sent_at=now - timedelta(minutes=10), finished_at=now - timedelta(minutes=10))
        old = message(status="failed", finished_at=now - timedelta(days=31))
        queued = message(status="queued", created_at=now - timedelta(days=40))
        db.session.commit()
        ids = recent.id, old.id, queued.id
        assert purge(policy, now) == 1
        db.session.expire_all()
        assert db.session.get(OutboxMessage, ids[1]) is None  # finished long ago: gone
        assert db.session.get(OutboxMessage, ids[2]).body  # never purged while waiting
        assert (db.session.get(OutboxMessage, ids[0]).body is None) == (keep_sent == timedelta(0))
        assert read_totals(db.session) == DeliveredTotals(sent=1, failed=1)  # the purged failure still counts


def test_two_workers_on_one_sqlite_database_send_each_message_once(sending, admin_client, oauth_app):
    smtp, key = sending
    bodies = [{"to": ["boss@example.org"], "subject": f"n{index}", "text": "t"} for index in range(100)]
    ids = [answer["id"] for start in range(0, 100, 50)
           for answer in post_mail(admin_client, key, {"messages": bodies[start:start + 50]}).json]
    policy = replace(FAST_OUTBOX, batch_size=5)
    workers = [RunningWorker(oauth_app, policy, name=f"worker-{n}").start() for n in range(2)]
    try:
        for message_id in ids:
            wait_for_status(oauth_app, message_id, "sent", timeout=60)
    finally:
        for running in workers:
            running.halt()
    subjects = [message.message["Subject"] for message in smtp.messages]
    assert sorted(subjects) == sorted(f"n{index}" for index in range(100))  # each once
    with oauth_app.app_context():
        assert {worker for (worker,) in db.session.query(OutboxAttempt.worker).distinct()} == {"worker-0", "worker-1"}


@pytest.mark.parametrize("per_connection, connections", [(100, 1), (8, 2)])
def test_a_backlog_goes_batch_after_batch_over_one_connection_up_to_its_cap(sending, admin_client, oauth_app,
                                                                          per_connection, connections):
    smtp, key = sending
    ids = [answer["id"] for answer in post_mail(admin_client, key, {"messages": [
        {"to": ["boss@example.org"], "subject": f"n{index}", "text": "t"} for index in range(12)]}).json]
    before = smtp.connections
    worker = RunningWorker(oauth_app, replace(FAST_OUTBOX, batch_size=5, connection_max_messages=per_connection))
    worker.start()
    try:
        for message_id in ids:
            wait_for_status(oauth_app, message_id, "sent")
    finally:
        worker.halt()
    assert smtp.connections - before == connections  # three batches of at most 5
    assert len({message.connection for message in smtp.messages}) == connections


def test_the_next_batch_claimed_ahead_goes_back_when_the_connection_ends(sending, admin_client, oauth_app):
    """The worker claims the next batch while the server takes in the last message of this one; a 421 then ends the
    connection, and that batch, never tried, is queued again untouched (no attempt counted) and goes next time."""
    smtp, key = sending
    messages = [queue_mail(admin_client, key, subject=f"Report {n}") for n in range(4)]
    smtp.reply_to_data("250 2.0.0 OK", "421 4.7.0 Try again later, closing connection")
    with oauth_app.app_context():
        runtime = oauth_app.extensions["dde_runtime"]
        Worker(runtime, replace(FAST_OUTBOX, batch_size=2), threading.Event(), "test-worker").step()
    rows = [outbox_row(oauth_app, message) for message in messages]
    assert [row["status"] for row in rows] == ["sent", "deferred", "queued", "queued"]
    assert [row["attempts"] for row in rows] == [1, 1, 0, 0] and rows[2]["lease_owner"] is None
    worker = RunningWorker(oauth_app).start()
    try:
        assert {wait_for_status(oauth_app, message, "sent")["status"] for message in messages} == {"sent"}
    finally:
        worker.halt()
