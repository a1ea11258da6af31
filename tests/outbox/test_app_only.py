"""The delivery worker with app-only sign-in: refused credentials hold the mail without hammering the provider, and
release it once fixed; an unreachable token endpoint only defers it."""

import threading
import time
from datetime import timedelta

from ddenterpriseapi.oauth import app_tokens as app_token_cache
from ddenterpriseapi.outbox.worker import Worker
from tests.helpers import (
    CLIENT,
    FAST_OUTBOX,
    MAILBOX,
    RunningWorker,
    age_app_tokens,
    app_tokens,
    create_api_key,
    queue_mail,
    save_oauth_settings,
    wait_for_status,
    worker_round,
)


def test_a_wrong_secret_holds_mail_until_the_secret_is_fixed(microsoft_application, microsoft_server, microsoft,
                                                              admin_client, oauth_app, worker):
    save_oauth_settings(oauth_app, client_secret="5a1c7e0d-secret-id-not-value")
    key = create_api_key(admin_client)
    first, second = queue_mail(admin_client, key, "first"), queue_mail(admin_client, key, "second")
    row = wait_for_status(oauth_app, first, "held")
    assert row["last_error"].startswith("The provider refused the application's credentials. The client secret is "
                                        "wrong: paste the secret's Value, not its Secret ID.")
    assert "AADSTS7000215" in row["last_error"] and row["next_attempt_at"] is None
    assert wait_for_status(oauth_app, second, "held")["next_attempt_at"] is None
    calls = len(microsoft_server.app_token_requests())
    time.sleep(0.5)
    assert len(microsoft_server.app_token_requests()) == calls  # held mail does not hammer the provider
    # The wrong secret was asked about once (the worker's first token check may have got a token before it was saved).
    assert [call["ok"] for call in microsoft_server.app_token_requests()].count(False) == 1
    microsoft.save("microsoft", client_secret=CLIENT[1])  # the administrator pastes the Value on the OAuth page
    assert wait_for_status(oauth_app, first, "sent")["status"] == wait_for_status(oauth_app, second, "sent")["status"]
    assert sorted(m.message["Subject"] for m in microsoft_application.wait_for_messages(2)) == ["first", "second"]
    assert {m.auth_login for m in microsoft_application.messages} == {MAILBOX[0]}
    assert app_tokens(oauth_app)[""]["rejection"] is None


def test_delegation_granted_at_google_releases_held_mail(google_service_account, google_server, admin_client,
                                                         oauth_app, worker, monkeypatch):
    monkeypatch.setattr(app_token_cache, "REJECTION_RECHECK", timedelta(seconds=1))
    smtp, account = google_service_account
    google_server.revoke_domain_wide_delegation(account.client_id)  # not granted yet
    key = create_api_key(admin_client)
    message_id = queue_mail(admin_client, key, "waiting")
    row = wait_for_status(oauth_app, message_id, "held")
    assert "Domain-wide delegation is not granted to this service account" in row["last_error"]
    google_server.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    wait_for_status(oauth_app, message_id, "sent", timeout=20)  # noticed without anyone saving anything
    assert smtp.wait_for_messages(1)[0].auth_login == MAILBOX[0]


def test_a_wrong_clock_is_explained(google_service_account, google_server, admin_client, oauth_app, worker):
    google_server.clock_offset = 2 * 3600  # this server's clock is two hours behind Google's
    message_id = queue_mail(admin_client, create_api_key(admin_client))
    row = wait_for_status(oauth_app, message_id, "held")
    assert "set this server's clock right (NTP)" in row["last_error"]
    assert "Invalid JWT: Token must be a short-lived token" in row["last_error"]


def test_an_unreachable_token_endpoint_defers_mail(microsoft_application, microsoft_server, admin_client, oauth_app,
                                                   worker):
    microsoft_server.token_delay = 5  # longer than HTTP_TIMEOUT
    message_id = queue_mail(admin_client, create_api_key(admin_client))
    row = wait_for_status(oauth_app, message_id, "deferred")
    assert "did not answer in time" in row["last_error"] and app_tokens(oauth_app)[""]["rejection"] is None
    microsoft_server.token_delay = 0
    wait_for_status(oauth_app, message_id, "sent", timeout=15)


def test_each_message_goes_out_as_its_own_mailbox(microsoft_application, microsoft_server, admin_client, oauth_app):
    """Two listed mailboxes, both granted to the application: each message signs in as its From's mailbox, one
    connection per mailbox, one application token for both."""
    microsoft_server.grant_mailbox(CLIENT[0], "billing@example.com")
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nbilling@example.com")
    key = create_api_key(admin_client)
    sent = [queue_mail(admin_client, key, f"report {n}", **{"from": sender})
            for n, sender in enumerate([MAILBOX[0], "billing@example.com", MAILBOX[0], "Billing@Example.com"])]
    worker = RunningWorker(oauth_app).start()  # the four wait together
    try:
        for message_id in sent:
            wait_for_status(oauth_app, message_id, "sent")
    finally:
        worker.halt()
    received = microsoft_application.wait_for_messages(4)
    assert {(m.mail_from.lower(), m.auth_login.lower()) for m in received} == {
        (MAILBOX[0], MAILBOX[0]), ("billing@example.com", "billing@example.com")}
    assert len({m.connection for m in received}) == 2
    assert len(microsoft_server.app_token_requests()) == 1


def test_a_mailbox_the_application_may_not_use_holds_only_its_mail(microsoft_application, microsoft_server,
                                                                   admin_client, oauth_app, worker):
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nbilling@example.com")  # billing not granted in Exchange
    key = create_api_key(admin_client)
    refused = queue_mail(admin_client, key, "refused", **{"from": "billing@example.com"})
    fine = queue_mail(admin_client, key, "fine", **{"from": MAILBOX[0]})
    assert wait_for_status(oauth_app, fine, "sent")
    row = wait_for_status(oauth_app, refused, "held", "failed", "deferred")
    assert "535 5.7.3" in row["last_error"] and "Add-MailboxPermission" in row["last_error"]


def test_a_mailbox_taken_off_the_list_holds_its_waiting_mail(microsoft_application, admin_client, oauth_app):
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nbilling@example.com")
    message_id = queue_mail(admin_client, create_api_key(admin_client), "later", **{"from": "billing@example.com"})
    save_oauth_settings(oauth_app, mailboxes=MAILBOX[0])  # before any worker ran
    worker = RunningWorker(oauth_app).start()
    try:
        row = wait_for_status(oauth_app, message_id, "held")
    finally:
        worker.halt()
    assert "billing@example.com is not among the mailboxes listed on the OAuth page" in row["last_error"]


def test_the_token_check_asks_once_per_token_lifetime(microsoft_application, microsoft_server, oauth_app):
    with oauth_app.app_context():
        worker = Worker(oauth_app.extensions["dde_runtime"], FAST_OUTBOX, threading.Event(), "test-worker")
        for _ in range(3):  # the TOKEN_CHECK cadence, three times over: the cached token answers
            worker.keep_token_alive()
    assert len(microsoft_server.app_token_requests()) == 1
    age_app_tokens(oauth_app)  # its lifetime ends: the next check brings the next one
    with oauth_app.app_context():
        worker.keep_token_alive()
        worker.keep_token_alive()
    assert [call["ok"] for call in microsoft_server.app_token_requests()] == [True, True]
    assert microsoft_application.messages == []  # no mail sent to find out


def test_the_token_check_records_an_expired_secret_without_mail(microsoft_application, microsoft_server, oauth_app):
    microsoft_server.expire_client_secret(CLIENT[0])
    worker_round(oauth_app)
    assert "AADSTS7000222" in app_tokens(oauth_app)[""]["rejection"]
    assert microsoft_application.connections == 0
