"""Who may send through the relay: an API key allowed on the relay (not a revoked one, nor one limited to the API),
over TLS unless from this machine; clients on trusted networks without AUTH; nobody else. Failures are audited and
slow their address down."""

import re
import smtplib
from types import SimpleNamespace

import pytest

from ddenterpriseapi.audit_wording import describe
from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent
from ddenterpriseapi.relay.handler import RelayHandler
from tests.helpers import API_KEYS_PAGE, csrf_from, outbox_row, post_mail, wait_for_status
from tests.relay.helpers import PROGRAM, bare_message, connect, queued_id, run_coroutine

REVOKE = re.compile(r'action="/ddenterpriseapi/configuration/api-keys/(\d+)/revoke"')


def create_key(client, name: str, scope: str) -> str:
    """Create a key limited as given on the API keys page; the key as shown once."""
    token = csrf_from(client.get(API_KEYS_PAGE))
    page = client.post(API_KEYS_PAGE, data={"name": name, "scope": scope, "csrf_token": token})
    return re.search(r'id="new-key" type="text" readonly value="([^"]+)"', page.get_data(as_text=True)).group(1)


def refused_login(relay, pki, key: str) -> smtplib.SMTPAuthenticationError:
    """AUTH PLAIN once (smtplib's login() would try LOGIN after it), refused."""
    with connect(relay, pki) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.user, client.password = PROGRAM, key
        client.auth("PLAIN", client.auth_plain)
    return refused.value


def audited_failures(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(event.actor, event.ip, describe(event))
                for event in db.session.query(AuditEvent).filter_by(action="relay_auth_failed").order_by(AuditEvent.id)]


def test_a_revoked_key_is_refused_and_audited(relaying, admin_client, oauth_app, pki):
    _, relay, (_, key) = relaying
    page = admin_client.get(API_KEYS_PAGE)
    admin_client.post(f"{API_KEYS_PAGE}/{REVOKE.search(page.get_data(as_text=True)).group(1)}/revoke",
                      data={"csrf_token": csrf_from(page)})
    refused = refused_login(relay, pki, key)
    assert (refused.smtp_code, refused.smtp_error) == (535, b"5.7.8 Authentication credentials invalid")
    expected = (f"relay user {PROGRAM}", "127.0.0.1", "AUTH with an unknown or revoked key")
    assert audited_failures(oauth_app) == [expected]


def test_a_key_limited_to_the_api_is_refused_by_the_relay(relaying, admin_client, oauth_app, pki):
    _, relay, _ = relaying
    api_only = create_key(admin_client, "dashboard", "api")
    assert refused_login(relay, pki, api_only).smtp_code == 535
    assert audited_failures(oauth_app)[0][2] == "AUTH with the key dashboard, which is limited to the API"


def test_a_key_limited_to_the_relay_is_refused_by_the_api(relaying, admin_client, oauth_app, pki):
    smtp, relay, _ = relaying
    relay_only = create_key(admin_client, "scanner", "relay")
    answer = post_mail(admin_client.application.test_client(), relay_only,
                       {"to": ["a@example.org"], "subject": "s", "text": "t"})
    assert answer.status_code == 403 and "limited to the SMTP relay" in answer.json["error"]
    with connect(relay, pki, ("scanner", relay_only)) as client:
        outbox_id = queued_id(client, "scanner@corp.example", ["boss@example.org"], bare_message())
    wait_for_status(oauth_app, outbox_id, "sent")
    page = admin_client.get(API_KEYS_PAGE).get_data(as_text=True)
    assert "The SMTP relay only" in page and "1 message, the last" in page


def test_without_tls_auth_works_from_this_machine(relaying, oauth_app):
    _, relay, login = relaying
    with connect(relay, None, login) as client:  # no STARTTLS: the client is on loopback
        assert "auth" in client.esmtp_features
        outbox_id = queued_id(client, "cron@corp.example", ["boss@example.org"], bare_message())
    assert outbox_row(oauth_app, outbox_id)["origin"] == "relay"


def test_without_tls_auth_is_neither_offered_nor_accepted_from_elsewhere(pki):
    handler = RelayHandler(SimpleNamespace(), backend=None)
    elsewhere = SimpleNamespace(transport=SimpleNamespace(get_extra_info=lambda name: None),
                                session=SimpleNamespace(peer=("192.0.2.7", 40000)))
    offered = run_coroutine(handler.handle_EHLO(elsewhere, elsewhere.session, None, "client",
                                              ["250-relay", "250-STARTTLS", "250-AUTH LOGIN PLAIN", "250 HELP"]))
    assert "250-AUTH LOGIN PLAIN" not in offered and "250-STARTTLS" in offered
    refused = run_coroutine(handler.auth_PLAIN(elsewhere, ["PLAIN", "AGtleQBzZWNyZXQ="]))
    assert refused.message.startswith("538 5.7.11 Encryption required")


def test_without_auth_mail_is_refused_unless_the_network_is_trusted(relaying, start_relay, oauth_app):
    _, relay, _ = relaying
    with connect(relay) as client:
        assert client.mail("cron@corp.example") == (530, b"5.7.0 Authentication required")
    trusting = start_relay(RELAY_TRUSTED_NETWORKS="10.0.0.0/8, 127.0.0.0/8")
    with connect(trusting) as client:
        outbox_id = queued_id(client, "printer@corp.example", ["boss@example.org"], bare_message())
    row = wait_for_status(oauth_app, outbox_id, "sent")
    assert row["submitted_by"] == "relay: 127.0.0.1 (trusted network)" and row["api_key_id"] is None


def test_repeated_failures_make_the_address_wait_even_with_the_right_key(relaying, pki, oauth_app):
    _, relay, (_, key) = relaying
    for _ in range(3):
        assert refused_login(relay, pki, "dde_guess").smtp_code == 535
    throttled = refused_login(relay, pki, key)
    assert throttled.smtp_code == 454 and throttled.smtp_error.startswith(b"4.7.0 Too many failed authentications")
    assert len(audited_failures(oauth_app)) == 3  # a throttled attempt checks no key, and records nothing
