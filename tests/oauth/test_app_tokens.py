"""App-only tokens: one token call per token lifetime across threads and processes, a token per Google mailbox,
forgotten when the credentials change, and no secret, key, token or assertion ever in a log or a message."""

import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ddenterpriseapi.extensions import current_runtime, db
from ddenterpriseapi.mail.message import Draft
from ddenterpriseapi.mail.sending import send_drafts
from ddenterpriseapi.models import AppToken, AuditEvent
from ddenterpriseapi.oauth.app_tokens import CredentialsRejected, forget_app_tokens
from ddenterpriseapi.oauth.settings import get_settings
from ddenterpriseapi.oauth.source import ServiceAccountSource, credential_source
from tests.helpers import CLIENT, MAILBOX, age_app_tokens, app_tokens, save_oauth_settings, service_account_sign_in
from tests.servers.app_credentials import app_certificate, service_account


def send_in_thread(app, index: int) -> str:
    with app.app_context():
        draft = Draft(to=[f"user{index}@example.org"], subject=f"n{index}", text="hello")
        return send_drafts(current_runtime(), [draft])[0]


def send_test_emails_in_processes(app, oauth_server, pki, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DDE_INSTANCE_PATH": app.instance_path, "DDE_SMTP_CA_BUNDLE": pki.ca_cert_path,
           "DDE_OAUTH_PROVIDER_OVERRIDES": json.dumps({oauth_server.shape: oauth_server.provider_override()})}
    command = [sys.executable, "-m", "flask", "--app", "ddenterpriseapi", "send-test-email"]
    return [subprocess.Popen([*command, f"p{i}@example.org"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for i in range(count)]


def test_threads_and_processes_make_one_token_call_per_token_lifetime(microsoft_application, microsoft_server,
                                                                       oauth_app, pki):
    microsoft_server.token_delay = 0.5  # every caller arrives while the first one's call is under way
    processes = send_test_emails_in_processes(oauth_app, microsoft_server, pki, 3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        message_ids = list(pool.map(lambda i: send_in_thread(oauth_app, i), range(12)))
    outputs = [process.communicate(timeout=60)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    assert len(set(message_ids)) == 12 and len(microsoft_application.wait_for_messages(15)) == 15
    assert len(microsoft_server.app_token_requests()) == 1
    first = app_tokens(oauth_app)[""]["access_token"]
    age_app_tokens(oauth_app)  # its lifetime ends: the next sends share one new token
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: send_in_thread(oauth_app, i), range(6)))
    assert len(microsoft_server.app_token_requests()) == 2
    assert app_tokens(oauth_app)[""]["access_token"] != first
    assert len(microsoft_application.wait_for_messages(21)) == 21


def test_a_service_account_has_a_token_per_mailbox(google_service_account, google_server, oauth_app):
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nalerts@example.com")  # each listed mailbox may send
    with oauth_app.app_context():
        source = credential_source(get_settings(), current_runtime())
        assert isinstance(source, ServiceAccountSource)
        first = source.access_token()
        assert (first.mailbox, first.app_only) == (MAILBOX[0], True)
        other = source.access_token(mailbox="alerts@example.com")
        assert other.value != first.value and source.access_token().value == first.value
        assert source.access_token(rejected=first.value).value != first.value  # a refused token is never reused
    identity = google_server.check_access_token(other.value)
    assert identity.may_send_as("alerts@example.com") and not identity.may_send_as(MAILBOX[0])
    subjects = [call["subject"] for call in google_server.app_token_requests()]
    assert subjects == [MAILBOX[0], "alerts@example.com", MAILBOX[0]]
    assert set(app_tokens(oauth_app)) == {MAILBOX[0], "alerts@example.com"}


def test_the_cache_is_forgotten_when_the_credentials_change(microsoft_application, microsoft, mail, oauth_app):
    assert "Test email accepted" in mail.send_test(microsoft_application)
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nalerts@example.com")
    assert set(app_tokens(oauth_app)) == {""}  # another mailbox listed: the application's token still serves
    microsoft.save("microsoft", client_secret=CLIENT[1])  # the secret typed again on the OAuth page
    assert app_tokens(oauth_app) == {}
    with oauth_app.app_context():
        assert forget_app_tokens(["cloud"]) is False  # nothing left to forget
        assert forget_app_tokens(["sender_name"]) is False


def test_the_key_files_token_uri_is_checked_before_an_assertion_goes_there(google_server, oauth_app, mail,
                                                                            make_smtp):
    account = service_account("http://oauth2.example.com/token")
    service_account_sign_in(oauth_app, account.key_file)
    smtp = make_smtp(google_server, style="google")
    mail.save(smtp)
    page = mail.send_test(smtp)
    assert "The key file's token_uri cannot be used: Use https://" in page
    assert google_server.token_requests == [] and smtp.connections == 0


def console_log(caplog) -> str:
    """What the console logged, with tracebacks and raw fields (the test server's Authlib logs tokens: not ours)."""
    formatter = logging.Formatter()
    return "\n".join(formatter.format(record) + repr(vars(record)) for record in caplog.records
                     if not record.name.startswith("authlib"))


def test_no_secret_key_token_or_assertion_is_ever_logged_or_shown(microsoft_application, microsoft_server,
                                                                   oauth_app, mail, caplog):
    caplog.set_level(logging.DEBUG)
    material = app_certificate()
    microsoft_server.register_app_certificate(CLIENT[0], material.certificate_pem)
    save_oauth_settings(oauth_app, client_certificate=material.pem)
    shown = [mail.send_test(microsoft_application)]
    token = app_tokens(oauth_app)[""]["access_token"]
    save_oauth_settings(oauth_app, client_secret="wrong-secret-value-7f3a")  # replaces the certificate
    shown.append(mail.send_test(microsoft_application))
    assert "Test email accepted" in shown[0] and "AADSTS7000215" in shown[1]
    with oauth_app.app_context():
        shown += [event.detail or "" for event in db.session.query(AuditEvent)]
    shown += [row["rejection"] or "" for row in app_tokens(oauth_app).values()]
    everything = console_log(caplog) + "\n".join(shown)
    key_lines = [line for line in material.pem.splitlines() if "-----" not in line]
    for secret in (CLIENT[1], "wrong-secret-value-7f3a", token, *key_lines):
        assert secret not in everything
    assert "eyJ" not in console_log(caplog)  # no JWT: neither an assertion nor a token


def leased(app) -> bool:
    with app.app_context():
        return db.session.query(AppToken).filter(AppToken.lease_owner.is_not(None)).count() > 0


def test_a_token_obtained_with_forgotten_credentials_is_not_stored(microsoft_application, microsoft_server,
                                                                    oauth_app):
    microsoft_server.token_delay = 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(send_in_thread, oauth_app, 1)
        while not leased(oauth_app):  # the token call is under way when new credentials are saved
            time.sleep(0.02)
        save_oauth_settings(oauth_app, client_secret=CLIENT[1])  # which forgets the cache
        microsoft_server.token_delay = 0
        sending.result(timeout=30)
    first, second = microsoft_server.app_token_requests()  # the answer to the old ones was not kept: asked again
    assert first["ok"] and second["ok"]
    stored = app_tokens(oauth_app)[""]["access_token"]
    assert microsoft_server.check_access_token(stored) is not None
    assert stored == list(microsoft_server.app_tokens)[-1]


def test_a_secret_saved_while_a_token_is_asked_for_is_the_one_used(microsoft_application, microsoft_server,
                                                                     oauth_app):
    """The answer to the old secret is dropped, and the send asks again with the one saved now: a wrong secret is
    found at once, not an hour later when a token from the old one runs out."""
    microsoft_server.token_delay = 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(send_in_thread, oauth_app, 1)
        while not leased(oauth_app):
            time.sleep(0.02)
        save_oauth_settings(oauth_app, client_secret="5a1c7e0d-secret-id-not-value")
        microsoft_server.token_delay = 0
        with pytest.raises(CredentialsRejected, match="AADSTS7000215"):
            sending.result(timeout=30)
    assert [call["ok"] for call in microsoft_server.app_token_requests()] == [True, False]
    assert app_tokens(oauth_app)[""]["access_token"] is None
