"""Self-tests of the SMTP test server, driven by smtplib over real sockets."""

import json
import smtplib
import ssl
import threading
from email.message import EmailMessage

import pytest

from tests.servers.smtp_server import SMTPTestServer
from tests.servers.tls import make_pki

TOKENS = {"token-alice": "alice@example.com"}
TENANT_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def start_server(pki):
    """Start SMTPTestServer instances (stub token check by default) and stop them after the test."""
    servers = []

    def start(**kwargs) -> SMTPTestServer:
        kwargs.setdefault("pki", pki)
        kwargs.setdefault("check_token", TOKENS.get)
        servers.append(SMTPTestServer(**kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def connect(server: SMTPTestServer, cafile: str) -> smtplib.SMTP:
    """Open an smtplib client, with TLS as the server's security asks, after EHLO."""
    context = ssl.create_default_context(cafile=cafile)
    if server.security == "ssl":
        client = smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=5)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=5)
        if server.security == "starttls":
            client.starttls(context=context)
    client.ehlo()
    return client


def xoauth2(client: smtplib.SMTP, mailbox: str, token: str, challenges: list | None = None):
    """AUTH XOAUTH2 with an initial response, answering any challenge with an empty line."""
    raw = f"user={mailbox}\x01auth=Bearer {token}\x01\x01"

    def answer(challenge=None):
        if challenge is None:
            return raw
        if challenges is not None:
            challenges.append(challenge)
        return ""

    return client.auth("XOAUTH2", answer, initial_response_ok=True)


def message(subject: str = "Hello") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.com", "bob@example.net", subject
    msg.set_content("Body text.\n")
    return msg


def test_starttls_xoauth2_success(start_server, pki):
    server = start_server()
    with connect(server, pki.ca_cert_path) as client:
        assert "xoauth2" in client.esmtp_features["auth"].lower().split()
        assert xoauth2(client, "alice@example.com", "token-alice") == (235, b"2.7.0 Accepted")
        client.send_message(message())
    [received] = server.wait_for_messages(1)
    assert (received.auth_login, received.auth_mechanism) == ("alice@example.com", "XOAUTH2")
    assert (received.mail_from, received.rcpt_tos) == ("alice@example.com", ["bob@example.net"])
    assert received.message["Subject"] == "Hello"
    assert b"Body text." in received.data
    assert server.auth_attempts == [{"mechanism": "XOAUTH2", "login": "alice@example.com", "ok": True}]


def test_xoauth2_after_334_prompt(start_server, pki):
    server = start_server()
    raw = "user=ALICE@example.com\x01auth=Bearer token-alice\x01\x01"
    with connect(server, pki.ca_cert_path) as client:
        assert client.auth("XOAUTH2", lambda challenge=None: raw, initial_response_ok=False)[0] == 235


def test_google_style_failure(start_server, pki):
    server = start_server(style="google")
    challenges = []
    with connect(server, pki.ca_cert_path) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "alice@example.com", "expired", challenges)
    assert error.value.smtp_code == 535
    assert error.value.smtp_error.startswith(b"5.7.8 Username and Password not accepted.")
    assert b"\n5.7.8  https://support.google.com/mail/?p=BadCredentials" in error.value.smtp_error
    assert json.loads(challenges[0])["scope"] == "https://mail.google.com/"
    assert server.auth_attempts == [{"mechanism": "XOAUTH2", "login": "alice@example.com", "ok": False}]


def test_microsoft_style_failure_for_another_mailbox(start_server, pki):
    server = start_server()
    with connect(server, pki.ca_cert_path) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "shared@example.com", "token-alice")
    assert (error.value.smtp_code, error.value.smtp_error) == (535, b"5.7.3 Authentication unsuccessful")


def test_shared_mailbox(start_server, pki):
    server = start_server()
    server.shared_mailboxes = {"alice@example.com": {"shared@example.com"}}
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "shared@example.com", "token-alice")
        client.send_message(message())
    assert server.wait_for_messages(1)[0].auth_login == "shared@example.com"


def test_fail_next_auth_with_exact_reply_once(start_server, pki):
    server = start_server()
    server.fail_next_auth_with = TENANT_DISABLED
    with connect(server, pki.ca_cert_path) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "alice@example.com", "token-alice")
        assert server.fail_next_auth_with is None
        assert xoauth2(client, "alice@example.com", "token-alice")[0] == 235
    assert f"{error.value.smtp_code} {error.value.smtp_error.decode()}" == TENANT_DISABLED
    assert [attempt["ok"] for attempt in server.auth_attempts] == [False, True]


def test_implicit_tls_verified_by_ca(start_server, pki):
    server = start_server(security="ssl")
    with connect(server, pki.ca_cert_path) as client:
        assert "starttls" not in client.esmtp_features
        xoauth2(client, "alice@example.com", "token-alice")
        client.send_message(message())
    assert server.wait_for_messages(1)[0].auth_mechanism == "XOAUTH2"


def test_client_trusting_another_ca_fails(start_server, tmp_path):
    server = start_server(security="ssl")
    other = make_pki(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server, other.ca_cert_path)


def test_plain_password(start_server, pki):
    server = start_server(passwords={"bob@example.com": "secret"})
    with connect(server, pki.ca_cert_path) as client:
        assert {"PLAIN", "LOGIN", "XOAUTH2"} <= set(client.esmtp_features["auth"].split())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("bob@example.com", "wrong")
        client.login("bob@example.com", "secret")
        client.send_message(message())
    received = server.wait_for_messages(1)[0]
    assert (received.auth_login, received.auth_mechanism) == ("bob@example.com", "PLAIN")


@pytest.mark.parametrize("security", ["starttls", "ssl", "none"])
def test_mail_without_auth_refused(start_server, pki, security):
    server = start_server(security=security)
    with connect(server, pki.ca_cert_path) as client:
        assert client.mail("alice@example.com")[0] == 530
    assert server.messages == []


def test_auth_over_plain_text_in_none_mode(start_server, pki):
    server = start_server(security="none")
    with connect(server, pki.ca_cert_path) as client:
        assert "starttls" not in client.esmtp_features
        assert xoauth2(client, "alice@example.com", "token-alice")[0] == 235


def test_two_messages_on_one_connection(start_server, pki):
    server = start_server()
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        client.send_message(message("First"))
        client.rset()
        client.send_message(message("Second"))
    received = server.wait_for_messages(2)
    assert [m.message["Subject"] for m in received] == ["First", "Second"]
    assert server.connections == 1


@pytest.mark.parametrize("security", ["starttls", "ssl", "none"])
def test_stop_with_a_client_still_connected(pki, security):
    threads = threading.active_count()
    server = SMTPTestServer(security=security, pki=pki).start()
    client = connect(server, pki.ca_cert_path)
    server.stop()
    client.close()
    assert threading.active_count() == threads
