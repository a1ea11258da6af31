"""The console on PostgreSQL, as docs/deploy.md sets up several instances: real gunicorn processes sharing one
database and one set of keys, with single-flight token refresh across all their workers."""

from __future__ import annotations

import html
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
import requests

from ddenterpriseapi.extensions import db
from ddenterpriseapi.outbox import statuses
from ddenterpriseapi.outbox.totals import record_purged
from tests.deploy.helpers import (
    PREFIX,
    Browser,
    authorize,
    console_env,
    create_api_key,
    flask_command,
    prepare_console,
    save_email_server,
    send_test_email,
)
from tests.helpers import ADMIN, CLIENT, MAILBOX, metric_samples, outbox_message, worker_heartbeat

pytestmark = pytest.mark.postgres

REQUESTS_PER_INSTANCE = 8


def refreshes(oauth_server) -> list[dict]:
    return [call for call in oauth_server.token_requests if call["grant_type"] == "refresh_token"]


def expire_access_token(database) -> None:
    """What an hour going by does: the stored access token is expired (the column holds naive UTC)."""
    with database.connect() as connection:
        updated = connection.execute("UPDATE oauth_connection SET access_token_expires_at = "
                                     "(now() AT TIME ZONE 'UTC') - interval '1 hour' WHERE id = 1").rowcount
    assert updated == 1


def send_through_api(url: str, key: str, recipient: str, barrier: Barrier | None = None) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        if barrier is not None:
            barrier.wait(timeout=30)  # every request leaves at once
        return http.post(f"{url}/v2/mail", timeout=60, headers={"Authorization": f"Bearer {key}"},
                         json={"to": [recipient], "subject": f"report for {recipient}", "text": "See attachment."})


def test_console_on_postgresql(tmp_path, postgres_db, start_console, google_server, pki):
    instance = tmp_path / "instance"
    env = console_env(instance, overrides={"google": google_server.provider_override()},
                      ca_bundle=pki.ca_cert_path, database_url=postgres_db.url)
    prepare_console(env)  # flask db upgrade against PostgreSQL, then create-admin
    check = flask_command(env, "db", "check")
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    assert not (instance / "ddenterpriseapi.db").exists()  # no SQLite database on the side

    console = start_console(env)
    with Browser(console.origin) as browser:
        browser.login()
        saved = browser.submit(f"{PREFIX}/configuration/oauth", {
            "provider": "google", "client_id": CLIENT[0], "client_secret": CLIENT[1],
            "current_password": ADMIN[1], "save": "1"})
        assert saved.status_code == 302
        assert "OAuth parameters saved." in browser.follow(saved).text
        saved = browser.submit(f"{PREFIX}/configuration/email-server", {
            "host": "smtp.example.net", "port": "465", "security": "ssl", "authentication": "password",
            "username": "relay@example.net", "password": "relay password", "save": "1"})
        assert saved.status_code == 302
        assert "Email server saved." in html.unescape(browser.follow(saved).text)

    with postgres_db.connect() as connection:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        oauth = connection.execute("SELECT provider, client_id, client_secret FROM oauth_settings").fetchall()
        mail = connection.execute("SELECT host, port, security, password FROM mail_server").fetchall()
        admins = connection.execute("SELECT username FROM admin").fetchall()
    assert version and admins == [("admin",)]
    ((provider, client_id, secret),) = oauth
    assert (provider, client_id) == ("google", CLIENT[0])
    assert secret.startswith("gAAAAA") and CLIENT[1] not in secret  # Fernet-encrypted at rest
    ((host, port, security, password),) = mail
    assert (host, port, security) == ("smtp.example.net", 465, "ssl")
    assert password.startswith("gAAAAA") and "relay password" not in password


def set_up_sending(browser: Browser, oauth_server, smtp, callback_on: Browser | None = None) -> str:
    """Authorize (Microsoft shape), configure the email server, create an API key; the key."""
    authorize(browser, oauth_server, provider="microsoft", callback_on=callback_on)
    saved = save_email_server(callback_on or browser, smtp, save="1")
    assert saved.status_code == 302, saved.text[:1000]
    return create_api_key(browser)


def test_two_instances_share_the_database_the_keys_and_one_refresh(
        tmp_path, postgres_db, start_console, start_worker, microsoft_server, make_smtp, pki):
    # One instance folder for both: the same secret-key and encryption-keys, as docs/deploy.md requires.
    unpaced = {**microsoft_server.provider_override(), "sending_rate": None}
    env = console_env(tmp_path / "instance", overrides={"microsoft": unpaced},
                      ca_bundle=pki.ca_cert_path, database_url=postgres_db.url)
    prepare_console(env)  # migrations run once
    first, second = start_console(env, "first"), start_console(env, "second")
    smtp = make_smtp(microsoft_server)

    with Browser(first.origin) as on_first:
        on_second = on_first.at(second.origin)  # the same browser, sent to the other instance
        on_first.login()
        assert on_second.get(f"{PREFIX}/").status_code == 200  # the session is valid on both: no stickiness
        # Authorized on the first; the provider's redirect lands on the second (the state is in the database).
        key = set_up_sending(on_first, microsoft_server, smtp, callback_on=on_second)
        # The administrator's test email (a fresh access token: no refresh). It also creates the delivery
        # status row, which test_first_concurrent_sends_on_a_new_database is about.
        send_test_email(on_second, smtp)
    assert [call["grant_type"] for call in microsoft_server.token_requests] == ["authorization_code"]
    delivered = len(smtp.messages)

    start_worker(env, "first-worker"), start_worker(env, "second-worker")
    expire_access_token(postgres_db)
    targets = [first.url, second.url] * REQUESTS_PER_INSTANCE
    barrier = Barrier(len(targets))
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        answers = list(pool.map(lambda item: send_through_api(item[1], key, f"user{item[0]}@example.org", barrier),
                                enumerate(targets)))
    assert [answer.status_code for answer in answers] == [202] * len(targets), [a.text for a in answers]
    assert len({answer.json()["message_id"] for answer in answers}) == len(targets)
    received = smtp.wait_for_messages(delivered + len(targets), timeout=20)[delivered:]
    assert sorted(r for message in received for r in message.rcpt_tos) == sorted(
        f"user{index}@example.org" for index in range(len(targets)))
    assert all(m.auth_mechanism == "XOAUTH2" and m.auth_login == MAILBOX[0] for m in received)
    assert len(refreshes(microsoft_server)) == 1, microsoft_server.token_requests  # one refresh for both workers
    assert refreshes(microsoft_server)[0]["ok"]

    # The refresh token stored is the rotated one (Microsoft kills the used one): the next refresh works.
    expire_access_token(postgres_db)
    answer = send_through_api(second.url, key, "after@example.org")
    assert answer.status_code == 202, answer.text
    assert smtp.wait_for_messages(delivered + len(targets) + 1)[-1].rcpt_tos == ["after@example.org"]
    assert [call["ok"] for call in refreshes(microsoft_server)] == [True, True]


def waiting_on_locks(database) -> int:
    """How many of the console's connections wait for a lock right now."""
    with database.connect() as connection:
        return connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND wait_event_type = 'Lock'").fetchone()[0]


def test_first_concurrent_sends_on_a_new_database(
        tmp_path, postgres_db, start_console, microsoft_server, make_smtp, pki):
    """Two test emails at once on a new database both create the delivery status row: neither fails on it."""
    env = console_env(tmp_path / "instance", overrides={"microsoft": microsoft_server.provider_override()},
                      ca_bundle=pki.ca_cert_path, database_url=postgres_db.url)
    prepare_console(env)
    console = start_console(env)
    smtp = make_smtp(microsoft_server)
    with Browser(console.origin) as browser, Browser(console.origin) as other:
        browser.login()
        other.login()
        set_up_sending(browser, microsoft_server, smtp)

        # Make the race certain: hold back writes to delivery_status until both requests are about to write
        # (SHARE ROW EXCLUSIVE blocks INSERT and UPDATE, not SELECT ... FOR UPDATE), then let them go together.
        with postgres_db.connect() as blocker, ThreadPoolExecutor(max_workers=2) as pool:
            with blocker.transaction():
                blocker.execute("LOCK TABLE delivery_status IN SHARE ROW EXCLUSIVE MODE")
                futures = [pool.submit(save_email_server, admin, smtp, test_recipient=f"first{index}@example.org",
                                       send_test="1") for index, admin in enumerate((browser, other))]
                deadline = time.monotonic() + 20
                while waiting_on_locks(postgres_db) < 2 and time.monotonic() < deadline:
                    if any(future.done() for future in futures):
                        break
                    time.sleep(0.05)
            answers = [future.result(timeout=60) for future in futures]
    assert len(smtp.wait_for_messages(2)) == 2  # both messages left in any case
    assert [answer.status_code for answer in answers] == [200, 200]
    assert all("Test email accepted by the server" in html.unescape(answer.text) for answer in answers)


def test_metrics_and_purged_totals_on_postgresql(make_app, postgres_db):
    """record_purged's upsert and the collector's queries in PostgreSQL's dialect."""
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_db.url)
    with app.app_context():
        db.session.add_all([outbox_message(statuses.SENT), outbox_message(statuses.FAILED),
                            outbox_message(statuses.DEFERRED, timedelta(minutes=5)),
                            worker_heartbeat(timedelta(seconds=3))])
        record_purged(sent=3, failed=1)  # creates the totals row
        db.session.commit()
        record_purged(sent=2, failed=0)  # adds to it
        db.session.commit()
    answer = app.test_client().get("/ddenterpriseapi/metrics")
    assert answer.status_code == 200, answer.text
    samples = metric_samples(answer.text)
    assert samples["ddenterpriseapi_messages_sent_total"] == 1 + 5
    assert samples["ddenterpriseapi_messages_failed_total"] == 1 + 1
    assert samples["ddenterpriseapi_oldest_waiting_message_age_seconds"] == pytest.approx(300, abs=5)
    assert samples["ddenterpriseapi_worker_heartbeat_age_seconds"] == pytest.approx(3, abs=5)
