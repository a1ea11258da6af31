"""Incidents from the conditions the console watches: each opens once and is told once, is reminded once a day while
it lasts, and its end is told; alert emails take the fallback server when the email channel itself is broken."""

import threading
from datetime import UTC, date, datetime, timedelta

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OutboxMessage
from tests.helpers import RunningWorker, queue_mail, reconfigure, wait_for_status
from tests.notify.helpers import (
    FALLBACK_LOGIN,
    RECIPIENT,
    age_authorization,
    age_incident,
    incidents,
    notifications,
    oauth_settings,
    run_checks,
)


def today() -> date:
    return datetime.now(UTC).date()


def kill_refresh_token(app, google_server):
    """The provider revokes the refresh token; the next refresh finds out (the command a timer runs)."""
    google_server.revoke_all()
    google_server.expire_access_tokens()
    result = app.test_cli_runner().invoke(args=["refresh-token"])
    assert result.exit_code == 1 and "authorize" in result.output.lower()


def test_reauthorization_required_is_told_once_reminded_daily_and_resolved(
        oauth_app, google, google_server, notify, webhook, fallback_smtp):
    google.connect()
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    run_checks(oauth_app)
    assert webhook.requests == [] and fallback_smtp.messages == []  # all is well: nothing to say
    kill_refresh_token(oauth_app, google_server)

    run_checks(oauth_app)
    run_checks(oauth_app)  # the condition lasts: no second notification
    [opened] = webhook.requests
    body = opened.json()
    assert opened.headers["Content-Type"] == "application/json"
    assert body["event"] == "reauthorization_required" and body["state"] == "opened"
    assert body["severity"] == "critical" and body["summary"].startswith("Re-authorization required")
    assert "refused to refresh" in body["details"] and body["console_url"] is None
    assert body["text"].startswith("[ddenterpriseapi] CRITICAL: Re-authorization required") and "\n" not in body["text"]
    [email] = fallback_smtp.wait_for_messages(1)  # the email server is what is broken: straight to the fallback
    assert email.rcpt_tos == [RECIPIENT] and email.auth_login == FALLBACK_LOGIN[0]
    assert email.message["Subject"].startswith("[ddenterpriseapi] CRITICAL: Re-authorization required")
    assert email.message["From"] == FALLBACK_LOGIN[0]  # no sender address set anywhere: the fallback's username
    assert "refused to refresh" in email.message.get_content()
    assert [(n["channel"], n["state"], n["ok"]) for n in notifications(oauth_app)] == [
        ("webhook", "opened", True), ("fallback", "opened", True)]

    age_incident(oauth_app, "reauthorization_required", timedelta(hours=25))
    run_checks(oauth_app)
    run_checks(oauth_app)
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "reminder"]
    assert webhook.requests[1].json()["text"].startswith("[ddenterpriseapi] STILL CRITICAL (since ")
    assert len(fallback_smtp.wait_for_messages(2)) == 2

    google.connect()  # an administrator authorizes again
    run_checks(oauth_app)
    run_checks(oauth_app)
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "reminder", "resolved"]
    resolved = webhook.requests[2].json()
    assert resolved["event"] == "reauthorization_required"
    assert resolved["text"].startswith("[ddenterpriseapi] RESOLVED: Re-authorization required")
    assert fallback_smtp.wait_for_messages(3)[2].message["Subject"].startswith("[ddenterpriseapi] RESOLVED:")
    assert incidents(oauth_app) == [{"kind": "reauthorization_required", "open": False, "severity": "critical"}]


def test_two_processes_checking_at_once_tell_it_once(oauth_app, google, google_server, notify, webhook):
    google.connect()
    notify.save(webhooks=[webhook.url], recipients=[])
    kill_refresh_token(oauth_app, google_server)
    start = threading.Barrier(4)
    failures = []

    def check():
        start.wait()
        try:
            run_checks(oauth_app)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert [r.json()["state"] for r in webhook.requests] == ["opened"]
    assert [n["state"] for n in notifications(oauth_app)] == ["opened"]


def test_console_url_follows_public_url(oauth_app, google, google_server, notify, webhook):
    google.connect()
    reconfigure(oauth_app, PUBLIC_URL="https://mail-console.example.com/ddenterpriseapi/")
    notify.save(webhooks=[webhook.url], recipients=[])
    kill_refresh_token(oauth_app, google_server)
    run_checks(oauth_app)
    body = webhook.requests[0].json()
    assert body["console_url"] == "https://mail-console.example.com/ddenterpriseapi/configuration/oauth"
    assert body["text"].endswith(" https://mail-console.example.com/ddenterpriseapi/configuration/oauth")


def test_client_secret_expiring_in_30_then_in_7_days(oauth_app, google, notify, webhook, fallback_smtp):
    google.save(client_secret_expires_on=(today() + timedelta(days=40)).isoformat())
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    run_checks(oauth_app)
    assert webhook.requests == []

    google.save(client_secret_expires_on=(today() + timedelta(days=20)).isoformat(), client_secret=None)
    run_checks(oauth_app)
    run_checks(oauth_app)
    [thirty] = [r.json() for r in webhook.requests]
    assert thirty["event"] == "client_secret_expires_30" and thirty["severity"] == "warning"
    assert "in 20 days" in thirty["summary"] and "New client secret" in thirty["details"]
    # No worker runs to carry it through the outbox: the email takes the fallback server.
    assert fallback_smtp.wait_for_messages(1)[0].message["Subject"].startswith("[ddenterpriseapi] WARNING:")

    google.save(client_secret_expires_on=(today() + timedelta(days=5)).isoformat(), client_secret=None)
    run_checks(oauth_app)
    seven = webhook.requests[1].json()
    assert seven["event"] == "client_secret_expires_7" and seven["severity"] == "critical"
    assert "in 5 days" in seven["summary"] and len(webhook.requests) == 2  # the 30-day one lasts, already told

    google.save(client_secret_expires_on=(today() + timedelta(days=700)).isoformat(),
                client_secret="the-new-client-secret")
    run_checks(oauth_app)
    assert sorted((r.json()["event"], r.json()["state"]) for r in webhook.requests[2:]) == [
        ("client_secret_expires_30", "resolved"), ("client_secret_expires_7", "resolved")]


def test_google_app_in_testing_warns_when_the_refresh_token_turns_six_days_old(oauth_app, google, notify, webhook):
    google.connect(app_in_testing="y")
    assert oauth_settings(oauth_app)["testing"] is True
    notify.save(webhooks=[webhook.url], recipients=[])
    age_authorization(oauth_app, timedelta(days=5, hours=23))
    run_checks(oauth_app)
    assert webhook.requests == []
    age_authorization(oauth_app, timedelta(hours=2))
    run_checks(oauth_app)
    [warning] = [r.json() for r in webhook.requests]
    assert warning["event"] == "testing_token_expires" and warning["severity"] == "critical"
    assert "Testing publishing status" in warning["summary"] and "7 days" in warning["summary"]
    google.connect(app_in_testing="y")  # authorized again: a new seven days
    run_checks(oauth_app)
    assert webhook.requests[1].json()["state"] == "resolved"


def test_the_testing_checkbox_is_for_google_only(oauth_app, google):
    google.save(provider="microsoft", app_in_testing="y")
    assert oauth_settings(oauth_app)["testing"] is False
    page = google.client.get("/ddenterpriseapi/configuration/oauth").get_data(as_text=True)
    assert 'class="field checkbox is-hidden" id="field-app_in_testing"' in page
    google.save(app_in_testing="y", client_secret_expires_on="2031-02-28")
    assert oauth_settings(oauth_app) == {"expires": date(2031, 2, 28), "testing": True}
    page = google.client.get("/ddenterpriseapi/configuration/oauth").get_data(as_text=True)
    assert 'value="2031-02-28"' in page and 'class="field checkbox" id="field-app_in_testing"' in page


def test_deferred_for_15_minutes_then_failed_messages(sending, admin_client, oauth_app, notify, webhook,
                                                      fallback_smtp):
    smtp, key = sending
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    smtp.reply_at_connect("421 4.3.2 Service not available, try later")
    worker = RunningWorker(oauth_app).start()
    try:
        message_id = queue_mail(admin_client, key, subject="Quarterly figures")
        wait_for_status(oauth_app, message_id, "deferred")
    finally:
        worker.halt()
    run_checks(oauth_app)
    assert webhook.requests == []  # deferred, but not for long
    with oauth_app.app_context():
        db.session.get(OutboxMessage, message_id).created_at -= timedelta(minutes=16)
        db.session.commit()
    run_checks(oauth_app)
    deferred = webhook.requests[0].json()
    assert deferred["event"] == "messages_deferred" and deferred["severity"] == "warning"
    assert "1 message is deferred" in deferred["summary"] and "421 4.3.2" in deferred["details"]

    with oauth_app.app_context():  # the outbox gives up on it
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.finished_at = "failed", datetime.now(UTC)
        message.last_error = "Gave up after 9 attempts over 48 hours; the last error: 421 4.3.2"
        db.session.commit()
    run_checks(oauth_app)
    events = [(r.json()["event"], r.json()["state"]) for r in webhook.requests]
    assert events == [("messages_deferred", "opened"), ("messages_deferred", "resolved"), ("messages_failed", "opened")]
    failed = webhook.requests[2].json()
    assert "1 message failed for good" in failed["summary"] and "'Quarterly figures'" in failed["details"]
    run_checks(oauth_app)  # the same failure is not news twice, and the incident waits an hour of quiet to end
    assert len(webhook.requests) == 3
    age_incident(oauth_app, "messages_failed", timedelta(minutes=61))
    run_checks(oauth_app)
    assert (webhook.requests[3].json()["event"], webhook.requests[3].json()["state"]) == ("messages_failed",
                                                                                          "resolved")
    assert len(fallback_smtp.wait_for_messages(4)) == 4  # each told by email through the fallback server too


def test_alert_email_goes_through_the_outbox_when_a_worker_runs(sending, admin_client, oauth_app, google, notify,
                                                                 webhook):
    smtp, _key = sending
    google.save(client_secret_expires_on=(today() + timedelta(days=20)).isoformat(), client_secret=None)
    notify.save(webhooks=[webhook.url])  # no fallback server: the outbox carries it
    worker = RunningWorker(oauth_app).start()  # its first round runs the checks
    try:
        webhook.wait_for(1)
        [email] = smtp.wait_for_messages(1)
    finally:
        worker.halt()
    assert email.rcpt_tos == [RECIPIENT] and "client secret expires" in email.message["Subject"]
    assert email.message["From"] == "Reports <reports@example.com>"  # the email server's sender
    with oauth_app.app_context():
        row = db.session.query(OutboxMessage).one()
        assert (row.origin, row.submitted_by, row.status) == ("alert", "Notifications", "sent")
    assert [(n["channel"], n["ok"]) for n in notifications(oauth_app)] == [("webhook", True), ("outbox", True)]


def test_messages_held_for_an_administrator_are_told_and_resolved(sending, admin_client, oauth_app, notify, webhook):
    smtp, key = sending
    notify.save(webhooks=[webhook.url], recipients=[])
    smtp.disable_smtp_auth()  # the server refuses the credentials whatever the token: only an administrator can help
    message_id = queue_mail(admin_client, key)
    worker = RunningWorker(oauth_app).start()
    try:
        wait_for_status(oauth_app, message_id, "held")
    finally:
        worker.halt()
    run_checks(oauth_app)
    run_checks(oauth_app)
    [held] = [request.json() for request in webhook.requests]
    assert held["event"] == "messages_held" and held["severity"] == "critical"
    assert "1 message is held until an administrator acts" in held["summary"] and "5.7.139" in held["details"]
    with oauth_app.app_context():  # the administrator cancels it on the Outbox page
        db.session.get(OutboxMessage, message_id).status = "cancelled"
        db.session.commit()
    run_checks(oauth_app)
    assert [(r.json()["event"], r.json()["state"]) for r in webhook.requests] == [
        ("messages_held", "opened"), ("messages_held", "resolved")]
