"""Self-tests of the SMTP test server, driven by smtplib over real sockets."""

import json
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

import pytest
import requests

from tests.servers.oauth_server import AppIdentity, OAuthTestServer
from tests.servers.smtp_server import SMTP_AUTH_DISABLED, SMTPTestServer
from tests.servers.tls import make_pki

APP = AppIdentity("app-1", frozenset({"reports@example.com"}))  # an app-only token granted one mailbox
TOKENS = {"token-alice": "alice@example.com", "token-app": APP}
TENANT_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
)
UNAVAILABLE = "421 4.3.2 Service not available"
TEMPORARY = "451 4.3.0 Temporary failure"
REJECTED = "554 5.6.0 Message rejected"
UNKNOWN_USER = "550 5.1.1 User unknown"


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


def message(subject: str = "Hello", to: str = "bob@example.net") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.com", to, subject
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


def test_disabled_smtp_auth_refuses_every_mechanism_until_heal(start_server, pki):
    server = start_server(passwords={"alice@example.com": "pw"})
    server.disable_smtp_auth()
    with connect(server, pki.ca_cert_path) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "alice@example.com", "token-alice")
        assert f"{error.value.smtp_code} {error.value.smtp_error.decode()}" == SMTP_AUTH_DISABLED
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            client.login("alice@example.com", "pw")
        assert error.value.smtp_code == 535 and b"5.7.139" in error.value.smtp_error
    server.heal()
    with connect(server, pki.ca_cert_path) as client:
        assert xoauth2(client, "alice@example.com", "token-alice")[0] == 235


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
    assert received[0].connection == received[1].connection


@pytest.mark.parametrize("security", ["starttls", "ssl", "none"])
def test_stop_with_a_client_still_connected(pki, security):
    threads = threading.active_count()
    server = SMTPTestServer(security=security, pki=pki).start()
    client = connect(server, pki.ca_cert_path)
    server.stop()
    client.close()
    assert threading.active_count() == threads


def send(server: SMTPTestServer, cafile: str, *subjects: str) -> None:
    """Send one message per subject over one new authenticated connection."""
    with connect(server, cafile) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        for subject in subjects:
            client.send_message(message(subject))


def subjects(server: SMTPTestServer) -> list[str]:
    """The subjects of the messages the server kept, in order of arrival."""
    return [received.message["Subject"] for received in server.messages]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_reply_at_connect_until_heal(start_server, pki, security):
    server = start_server(security=security)
    server.reply_at_connect(UNAVAILABLE)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError) as error:
            connect(server, pki.ca_cert_path)
        assert f"{error.value.smtp_code} {error.value.smtp_error.decode()}" == UNAVAILABLE
    server.heal()
    send(server, pki.ca_cert_path, "After")
    assert subjects(server) == ["After"]
    assert server.connections == 3


def test_reply_to_data_answers_each_reply_once(start_server, pki):
    server = start_server()
    server.reply_to_data(TEMPORARY, REJECTED)
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        for expected in (TEMPORARY, REJECTED):
            with pytest.raises(smtplib.SMTPDataError) as error:
                client.send_message(message("Refused"))
            assert f"{error.value.smtp_code} {error.value.smtp_error.decode()}" == expected
        client.send_message(message("Accepted"))
    assert subjects(server) == ["Accepted"]
    assert len(server.accepted_times) == 1


def test_refused_recipients_until_heal(start_server, pki):
    server = start_server()
    server.refuse_recipients({"Bob@Example.net": UNKNOWN_USER})
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        refused = client.send_message(message(to="bob@example.net, carol@example.net"))
        assert refused == {"bob@example.net": (550, b"5.1.1 User unknown")}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.send_message(message())
        server.heal()
        assert client.send_message(message()) == {}
    assert [received.rcpt_tos for received in server.messages] == [["carol@example.net"], ["bob@example.net"]]


def test_throttle_refuses_mail_from_and_closes_until_the_window_slides(start_server, pki):
    server = start_server()
    server.throttle(2, window=1.0)
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        client.send_message(message("First"))
        client.send_message(message("Second"))
        assert client.mail("alice@example.com") == (421, b"4.7.0 Too many messages, slow down")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    time.sleep(max(0.0, server.accepted_times[0] + 1.0 - time.monotonic()))
    send(server, pki.ca_cert_path, "Third")
    assert subjects(server) == ["First", "Second", "Third"]
    assert server.accepted_times == sorted(server.accepted_times)
    assert server.accepted_times[2] - server.accepted_times[0] >= 1.0


def test_hang_after_data_keeps_only_messages_whose_client_waited(start_server, pki):
    server = start_server()
    server.hang_after_data(0.3)
    started = time.monotonic()
    send(server, pki.ca_cert_path, "Waited")
    assert time.monotonic() - started >= 0.3
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        client.sock.settimeout(0.1)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.send_message(message("Abandoned"))
    abandoned = time.monotonic()
    server.heal()
    send(server, pki.ca_cert_path, "Healed")
    time.sleep(max(0.0, abandoned + 0.5 - time.monotonic()))
    assert subjects(server) == ["Waited", "Healed"]


@pytest.mark.parametrize("recover", ["resume", "heal"])
def test_outage_refuses_connections_then_recovers_on_the_same_port(start_server, pki, recover):
    server = start_server()
    port = server.port
    with connect(server, pki.ca_cert_path) as client:
        xoauth2(client, "alice@example.com", "token-alice")
        client.send_message(message("Before"))
        server.stop_listening()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(server.host, port, timeout=5)
    getattr(server, recover)()
    send(server, pki.ca_cert_path, "After")
    assert server.port == port
    assert subjects(server) == ["Before", "After"]
    assert server.messages[0].connection != server.messages[1].connection
    assert server.connections == 2


def test_heal_ends_every_fault(start_server, pki):
    server = start_server()
    server.fail_next_auth_with = TENANT_DISABLED
    server.reply_at_connect(UNAVAILABLE)
    server.reply_to_data(REJECTED)
    server.refuse_recipients({"bob@example.net": UNKNOWN_USER})
    server.throttle(0)
    server.hang_after_data(30)
    server.heal()
    send(server, pki.ca_cert_path, "Healed")
    assert subjects(server) == ["Healed"]


@pytest.mark.parametrize("style, refusal", [("microsoft", b"5.7.3 Authentication unsuccessful"),
                                             ("google", b"5.7.8 Username and Password not accepted.")])
def test_an_app_token_signs_in_only_as_the_mailboxes_it_may(start_server, pki, style, refusal):
    server = start_server(style=style)
    with connect(server, pki.ca_cert_path) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "alice@example.com", "token-app")
    assert error.value.smtp_code == 535 and error.value.smtp_error.startswith(refusal)
    with connect(server, pki.ca_cert_path) as client:
        assert xoauth2(client, "Reports@example.com", "token-app")[0] == 235
        client.send_message(message())
    assert server.wait_for_messages(1)[0].auth_login == "Reports@example.com"


def test_exchange_checks_the_applications_mailbox_permission_at_sign_in(start_server, pki):
    oauth = OAuthTestServer("microsoft").start()
    try:
        oauth.register_client("app-1", "s3cret", [])
        token = requests.post(f"{oauth.base_url}/contoso.com/oauth2/v2.0/token", timeout=5, data={
            "grant_type": "client_credentials", "client_id": "app-1", "client_secret": "s3cret",
            "scope": "https://outlook.office365.com/.default"}).json()["access_token"]
        server = start_server(check_token=oauth.check_access_token)
        with connect(server, pki.ca_cert_path) as client, pytest.raises(smtplib.SMTPAuthenticationError) as error:
            xoauth2(client, "reports@example.com", token)
        assert error.value.smtp_error == b"5.7.3 Authentication unsuccessful"
        oauth.grant_mailbox("app-1", "reports@example.com")
        with connect(server, pki.ca_cert_path) as client:
            assert xoauth2(client, "reports@example.com", token)[0] == 235
    finally:
        oauth.stop()
