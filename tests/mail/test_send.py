"""Sending through a real SMTP server that checks XOAUTH2 tokens with a real authorization server."""

import re

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import DeliveryStatus, MailServer
from tests.helpers import MAILBOX, age_access_token, connection_row, reconfigure, refreshes


def test_test_email_with_oauth_over_starttls(google, mail, make_smtp):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    page = mail.send_test(smtp)
    assert "Test email accepted by the server for boss@example.org" in page
    for step in ("CONNECT", "TLS", "EHLO", "AUTH", "DATA"):
        assert f"<strong>{step}</strong>" in page
    (received,) = smtp.wait_for_messages(1)
    assert f"message accepted ({received.message['Message-ID']}): 250 " in page  # the server's answer, shown
    assert received.auth_mechanism == "XOAUTH2" and received.auth_login == MAILBOX[0]
    assert received.mail_from == MAILBOX[0] and received.rcpt_tos == ["boss@example.org"]
    message = received.message
    assert message["Subject"] == "ddenterpriseapi test email"
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]
    assert "the email server settings work" in message.get_content()
    assert refreshes(google.server) == []  # the access token from the authorization is reused


def test_implicit_tls_and_sender_name(microsoft, mail, make_smtp):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server, security="ssl")
    page = mail.send_test(smtp, sender_name="Rapports Société", sender_address=MAILBOX[0])
    assert "Test email accepted" in page
    (received,) = smtp.wait_for_messages(1)
    assert str(received.message["From"]) == f"Rapports Société <{MAILBOX[0]}>"


def test_password_authentication(mail, make_smtp):
    smtp = make_smtp(passwords={"relay@example.com": "relay password"})
    page = mail.send_test(smtp, authentication="password", username="relay@example.com",
                          password="relay password", sender_address="relay@example.com")
    assert "Test email accepted" in page
    assert smtp.wait_for_messages(1)[0].auth_mechanism in ("PLAIN", "LOGIN")
    page = mail.send_test(smtp, authentication="password", username="relay@example.com", password="")
    assert "Test email accepted" in page  # the stored password was kept


def test_expiring_access_token_is_refreshed_once(google, mail, make_smtp, oauth_app):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    before = connection_row(oauth_app)
    age_access_token(oauth_app)
    assert "Test email accepted" in mail.send_test(smtp)
    assert "Test email accepted" in mail.send_test(smtp)
    assert len(refreshes(google.server)) == 1 and refreshes(google.server)[0]["scope"] is None
    after = connection_row(oauth_app)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]  # Google does not rotate: never erased


def test_microsoft_rotation_keeps_the_valid_refresh_token(microsoft, mail, make_smtp, oauth_app):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    first = connection_row(oauth_app)["refresh_token"]
    for _ in range(3):
        age_access_token(oauth_app)
        assert "Test email accepted" in mail.send_test(smtp)
    latest = connection_row(oauth_app)["refresh_token"]
    assert latest != first and len(refreshes(microsoft.server)) == 3
    assert all(call["ok"] for call in refreshes(microsoft.server))
    # Microsoft wants the scopes on every refresh.
    assert {call["scope"] for call in refreshes(microsoft.server)} == {
        "https://outlook.office.com/SMTP.Send offline_access openid email"}


def test_token_refused_by_smtp_is_refreshed_and_retried_once(microsoft, mail, make_smtp):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    microsoft.server.expire_access_tokens()  # the console still believes its token valid
    page = mail.send_test(smtp)
    assert "Test email accepted" in page
    assert len(refreshes(microsoft.server)) == 1
    assert [attempt["ok"] for attempt in smtp.auth_attempts] == [False, True]
    assert "<strong>RETRY</strong>" in page and "token refreshed, trying again" in page


def test_token_at_another_providers_server_is_told_so(microsoft, mail, make_smtp):
    microsoft.connect("microsoft")
    gmail = make_smtp(style="google")  # knows no Microsoft token
    page = mail.send_test(gmail)
    assert "535 5.7.8" in page
    assert "This is a Google server, but the token comes from Microsoft" in page
    assert "Set the SMTP host to Microsoft's (smtp.office365.com)" in page
    assert "https://mail.google.com/ scope" not in page
    assert refreshes(microsoft.server) == [] and len(gmail.auth_attempts) == 1  # a fresh token would not help


def test_google_refusal_shows_the_real_reply(google, mail, make_smtp):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    page = mail.send_test(smtp, username="someone-else@example.com")
    assert "535 5.7.8" in page and "authorized account is the mailbox" in page
    assert "is not the authorized account" in page
    assert len(refreshes(google.server)) == 1  # refreshed once, retried once, then gave up


def test_smtp_auth_disabled_for_tenant(microsoft, mail, make_smtp):
    microsoft.connect("microsoft")
    smtp = make_smtp(microsoft.server)
    smtp.fail_next_auth_with = ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
                                "for the Tenant.")
    page = mail.send_test(smtp)
    assert "5.7.139" in page and "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false" in page
    assert refreshes(microsoft.server) == []  # not a token problem


def test_revoked_refresh_token_requires_reauthorization(google, mail, make_smtp, oauth_app, admin_client):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    google.server.revoke_all()
    age_access_token(oauth_app)
    page = mail.send_test(smtp)
    assert "Re-authorization required" in page and "Token has been expired or revoked" in page
    assert "Testing" in page  # the Google 7-day hint
    oauth_page = admin_client.get("/ddenterpriseapi/configuration/oauth").get_data(as_text=True)
    assert "Re-authorization required" in oauth_page
    assert connection_row(oauth_app)["refresh_token"]  # kept: the settings stay
    assert len(refreshes(google.server)) == 1
    mail.send_test(smtp)
    assert len(refreshes(google.server)) == 1  # no hammering of the provider
    google.connect()
    assert "Test email accepted" in mail.send_test(smtp)


def test_not_authorized_yet(mail, make_smtp):
    page = mail.send_test(make_smtp())
    assert "OAuth is not authorized yet" in page


def test_smtp_down(mail, make_smtp, google):
    google.connect()
    smtp = make_smtp(google.server)
    smtp.stop()
    page = mail.send_test(smtp)
    assert "refused the connection" in page


def test_untrusted_certificate(make_app, make_smtp, google_server, pki):
    from tests.helpers import AuthActions, MailActions, OAuthActions

    app = make_app(OAUTH_PROVIDER_OVERRIDES={"google": google_server.provider_override()}, SMTP_TIMEOUT=3)
    client = app.test_client()
    AuthActions(app, client).create()
    AuthActions(app, client).login()
    OAuthActions(client, google_server).connect()
    page = MailActions(client).send_test(make_smtp(google_server))
    assert "could not be verified" in page and "SMTP_CA_BUNDLE" in page


def test_starttls_on_an_implicit_tls_port(mail, make_smtp, google):
    google.connect()
    smtp = make_smtp(google.server, security="ssl")
    page = mail.send_test(None, host=smtp.host, port=str(smtp.port), security="starttls")
    assert "If this port expects SSL/TLS from the first byte (usually 465), set Security to SSL/TLS" in page


def test_ssl_on_a_starttls_port(mail, make_smtp, google):
    google.connect()
    smtp = make_smtp(google.server, security="starttls")
    page = mail.send_test(None, host=smtp.host, port=str(smtp.port), security="ssl")
    assert "TLS with 127.0.0.1" in page and "set Security to STARTTLS" in page


@pytest.mark.parametrize("authentication", ["oauth", "none"])
def test_no_security_on_a_starttls_port_says_to_set_starttls(mail, make_smtp, google, authentication):
    google.connect()
    smtp = make_smtp(google.server, security="starttls")
    page = mail.send_test(None, host=smtp.host, port=str(smtp.port), security="none", authentication=authentication,
                          sender_address=MAILBOX[0])
    assert "530 Must issue a STARTTLS command first" in page
    assert "The server offers STARTTLS and goes no further without it: set Security to STARTTLS." in page
    assert "may not send as this address" not in page and refreshes(google.server) == []


def test_unusable_authorized_account_as_sender_says_where_it_came_from(google, google_server, mail, make_smtp):
    google_server.add_user("reports@printer.local", "printer password")
    google.come_back(google_server.consent(google.authorize(), "reports@printer.local", "printer password"))
    smtp = make_smtp(google_server, style="google")
    page = mail.send_test(smtp)
    assert ("Sender address is blank, so messages without a sender go out as reports@printer.local, taken from the "
            "authorized account, and that address cannot be used") in page
    assert "Type a Sender address on the Email server page." in page
    assert re.search(r'<li class="failed"><strong>FROM</strong>', page)  # "What happened" says it too
    assert smtp.auth_attempts == []


def test_delivery_status_is_recorded(google, mail, make_smtp, oauth_app):
    google.connect()
    smtp = make_smtp(google.server)
    mail.send_test(smtp)
    with oauth_app.app_context():
        status = db.session.get(DeliveryStatus, 1)
        assert status.last_test_ok and status.last_success_at is not None and status.last_error is None
    smtp.stop()
    mail.send_test(smtp)
    with oauth_app.app_context():
        status = db.session.get(DeliveryStatus, 1)
        assert status.last_test_ok is False and "refused the connection" in status.last_error


@pytest.mark.parametrize("field, value, message", [
    ("port", "70000", "A port is a number from 1 to 65535"),
    ("port", "abc", "Enter a port, such as 587"),
    ("host", "smtp.example.com/x", "host name or IP address only"),
    ("sender_address", "not-an-address", "Enter an email address, such as reports@example.com. "
                                         "An email address must have an @-sign."),
    ("sender_address", "reports@example.test", "Enter an email address, such as reports@example.com. The part "
                                               "after the @-sign is a special-use or reserved name"),
    ("sender_name", "Evil\r\nBcc: x@example.com", "Use a single line"),
    ("sender_name", "Evil\u2028Bcc: x@example.com", "Use a single line"),
    ("username", "reports@example.com\x85", "Use a single line"),
])
def test_bad_input_is_explained_and_saved_settings_stay(mail, make_smtp, oauth_app, field, value, message):
    smtp = make_smtp()
    mail.save(smtp)
    response = mail.save(smtp, **{field: value})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with oauth_app.app_context():
        assert db.session.get(MailServer, 1).port == smtp.port


def test_test_recipient_at_a_reserved_domain_says_why(mail, make_smtp):
    smtp = make_smtp()
    page = mail.send_test(smtp, recipient="boss@printer.local")
    assert ("Enter an email address to send the test to. The part after the @-sign is a special-use or reserved "
            "name that cannot be used with email.") in page
    assert smtp.messages == []


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "192.168.1.1", "224.0.0.1", "fd00::1"])
def test_private_smtp_hosts_are_refused_when_blocked(mail, oauth_app, host):
    server = {"port": "25", "security": "none", "authentication": "none"}
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=True)
    refused = mail.save(host=host, **server)
    explained = f"{host} leads to {host}, a private, link-local, reserved or multicast address"
    assert refused.status_code == 200 and explained in refused.get_data(as_text=True)
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=False)
    assert mail.save(host=host, **server).status_code == 302
    with oauth_app.app_context():
        assert db.session.get(MailServer, 1).host == host


def test_loopback_smtp_host_is_allowed_when_private_networks_are_blocked(mail, make_smtp, oauth_app):
    reconfigure(oauth_app, BLOCK_PRIVATE_NETWORKS=True)
    smtp = make_smtp(passwords={"relay@example.com": "pw"})
    page = mail.send_test(smtp, authentication="password", username="relay@example.com", password="pw")
    assert "Test email accepted by the server" in page
    assert smtp.wait_for_messages(1)


def test_email_page_offers_authorize_when_not_yet_authorized(google, mail, oauth_app):
    google.save()
    mail.save(host="", port="587", authentication="oauth")
    page = mail.client.get(mail.PAGE).get_data(as_text=True)
    assert "OAuth is not authorized yet" in page and 'action="/ddenterpriseapi/configuration/oauth/authorize"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = mail.client.post("/ddenterpriseapi/configuration/oauth/authorize", data={"csrf_token": token})
    assert response.headers["Location"].startswith(google.server.base_url)
    page = google.come_back(google.consent(response.headers["Location"]))
    assert "Authorized as reports@example.com" in page.get_data(as_text=True)
