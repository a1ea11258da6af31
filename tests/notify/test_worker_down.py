"""A dead delivery worker: every page says so, and the web process tells someone, although no worker runs to."""

from datetime import UTC, datetime, timedelta

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import NotificationSettings, OutboxMessage, WorkerHeartbeat
from tests.helpers import RunningWorker, flashes, queue_mail
from tests.notify.helpers import RECIPIENT, incidents, notifications

DASHBOARD = "/ddenterpriseapi/"
NEVER_RAN = "No delivery worker has run yet, and mail has waited 10 minutes: it is not being sent."
START = "Start it: <code>flask --app ddenterpriseapi worker</code>"


def heartbeat(app, ago: timedelta) -> None:
    with app.app_context():
        db.session.add(WorkerHeartbeat(id="reports-host:4242", seen_at=datetime.now(UTC) - ago))
        db.session.commit()


def mail_waiting_since(app, ago: timedelta) -> None:
    with app.app_context():
        for message in db.session.query(OutboxMessage):
            message.created_at = datetime.now(UTC) - ago
        db.session.commit()


def worker_checked_at(app):
    with app.app_context():
        return db.session.get(NotificationSettings, 1).worker_checked_at


def set_worker_checked_at(app, moment) -> None:
    with app.app_context():
        db.session.get(NotificationSettings, 1).worker_checked_at = moment
        db.session.commit()


def test_no_banner_while_nothing_needs_a_worker(sending, admin_client, oauth_app):
    assert "No delivery worker" not in flashes(admin_client.get(DASHBOARD))  # never ran, nothing waiting
    _smtp, key = sending
    queue_mail(admin_client, key)
    assert "No delivery worker" not in flashes(admin_client.get(DASHBOARD))  # mail has waited only a moment
    heartbeat(oauth_app, timedelta(minutes=4))
    mail_waiting_since(oauth_app, timedelta(hours=1))
    assert "No delivery worker" not in flashes(admin_client.get(DASHBOARD))  # a worker beat 4 minutes ago
    assert incidents(oauth_app) == []


def test_mail_waiting_for_a_worker_that_never_ran(sending, admin_client, oauth_app, notify, webhook, fallback_smtp):
    _smtp, key = sending
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    queue_mail(admin_client, key)
    mail_waiting_since(oauth_app, timedelta(minutes=10, seconds=20))
    oauth_app.extensions.pop("dde_worker_check_due", None)  # this process's minute is over
    for path in ("", "configuration/oauth", "configuration/notifications"):
        page = flashes(admin_client.get(DASHBOARD + path, buffered=True))  # closed, as a server does once sent
        assert NEVER_RAN in page and START in page
    [told] = webhook.wait_for(1)  # by the web process: no worker runs to tell it
    assert told.json()["event"] == "worker_down" and told.json()["summary"] == NEVER_RAN
    [email] = fallback_smtp.wait_for_messages(1)  # the outbox has nobody to send it: the fallback server does
    assert email.rcpt_tos == [RECIPIENT] and "CRITICAL: No delivery worker" in email.message["Subject"]


def test_a_worker_that_stopped(sending, admin_client, oauth_app, make_app, notify, webhook, fallback_smtp):
    notify.save(webhooks=[webhook.url], fallback=fallback_smtp)
    heartbeat(oauth_app, timedelta(minutes=7))
    oauth_app.extensions.pop("dde_worker_check_due", None)
    page = flashes(admin_client.get("/ddenterpriseapi/audit", buffered=True))
    assert "No delivery worker has been seen for 7 minutes: mail is not being sent." in page
    assert [r.json()["state"] for r in webhook.wait_for(1)] == ["opened"]
    checked = worker_checked_at(oauth_app)

    other_process = make_app(OAUTH_PROVIDER_OVERRIDES=oauth_app.config["OAUTH_PROVIDER_OVERRIDES"])
    other_process.test_client().get("/ddenterpriseapi/healthz", buffered=True)  # within the minute: not its turn
    assert worker_checked_at(oauth_app) == checked
    set_worker_checked_at(oauth_app, checked - timedelta(seconds=61))
    other_process.extensions.pop("dde_worker_check_due", None)
    other_process.test_client().get("/ddenterpriseapi/healthz", buffered=True)  # its turn: it looks, tells nothing new
    assert worker_checked_at(oauth_app) > checked and len(webhook.requests) == 1

    worker = RunningWorker(oauth_app).start()  # its first round tells that it is back
    try:
        webhook.wait_for(2)
    finally:
        worker.halt()
    assert [r.json()["state"] for r in webhook.requests] == ["opened", "resolved"]
    assert "No delivery worker" not in flashes(admin_client.get(DASHBOARD))
    assert [(n["channel"], n["state"], n["ok"]) for n in notifications(oauth_app)] == [
        ("webhook", "opened", True), ("fallback", "opened", True), ("webhook", "resolved", True),
        ("fallback", "resolved", True)]
