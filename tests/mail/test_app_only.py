"""App-only sign-in through the real sending path: the console's test email goes to an SMTP server that checks the
token with a real authorization server: Microsoft's application (a secret, a certificate), a Google service account,
a national cloud, and the refusals an administrator must be told how to fix."""

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AuditEvent
from tests.helpers import CLIENT, MAILBOX, AuthActions, MailActions, app_tokens, save_oauth_settings
from tests.servers.app_credentials import app_certificate
from tests.servers.oauth_server import OAuthTestServer

APP_SCOPE = "https://outlook.office365.com/.default"


def test_microsoft_application_with_a_client_secret(microsoft_application, microsoft_server, mail, oauth_app):
    smtp = microsoft_application
    assert "Test email accepted by the server for boss@example.org" in mail.send_test(smtp)
    assert "Test email accepted" in mail.send_test(smtp)
    first, second = smtp.wait_for_messages(2)
    assert (first.auth_mechanism, first.auth_login, first.mail_from) == ("XOAUTH2", MAILBOX[0], MAILBOX[0])
    assert second.auth_login == MAILBOX[0]
    assert microsoft_server.app_token_requests() == [  # one token for both: cached
        {"grant_type": "client_credentials", "scope": APP_SCOPE, "client_id": CLIENT[0], "ok": True,
         "client_authentication": "client_secret"}]
    assert microsoft_server.tenants == ["contoso.onmicrosoft.com"]
    assert microsoft_server.check_access_token(app_tokens(oauth_app)[""]["access_token"]).may_send_as(MAILBOX[0])


def test_microsoft_application_with_a_certificate(microsoft_application, microsoft_server, mail, oauth_app):
    material = app_certificate()
    microsoft_server.register_app_certificate(CLIENT[0], material.certificate_pem)
    microsoft_server.expire_client_secret(CLIENT[0])  # only the certificate can work
    save_oauth_settings(oauth_app, client_certificate=material.pem)
    assert "Test email accepted" in mail.send_test(microsoft_application)
    assert microsoft_application.wait_for_messages(1)[0].auth_login == MAILBOX[0]
    (call,) = microsoft_server.app_token_requests()
    assert call["ok"] and call["scope"] == APP_SCOPE


def test_an_unregistered_certificate_is_explained(microsoft_application, microsoft_server, mail, oauth_app):
    save_oauth_settings(oauth_app, client_certificate=app_certificate().pem)
    page = mail.send_test(microsoft_application)
    assert "The certificate that signed the client assertion is not registered on the application" in page
    assert "AADSTS700027" in page and microsoft_application.messages == []


def test_google_service_account(google_service_account, google_server, mail):
    smtp, account = google_service_account
    assert "Test email accepted" in mail.send_test(smtp)
    (received,) = smtp.wait_for_messages(1)
    assert (received.auth_login, received.mail_from) == (MAILBOX[0], MAILBOX[0])
    (call,) = google_server.app_token_requests()
    assert call["subject"] == MAILBOX[0] and call["ok"]


def test_a_mailbox_outside_the_domain_is_explained(google_service_account, oauth_app, mail):
    smtp, _account = google_service_account
    save_oauth_settings(oauth_app, mailboxes="reports@elsewhere.org")
    page = mail.send_test(smtp)
    assert "The provider refused the application's credentials." in page
    assert "The mailbox is not a user of the Google Workspace domain" in page
    assert "Invalid email or User ID" in page and smtp.messages == []


def test_delegation_not_granted_is_explained(google_service_account, google_server, oauth_app, mail):
    smtp, account = google_service_account
    google_server.revoke_domain_wide_delegation(account.client_id)
    page = mail.send_test(smtp)
    assert "Domain-wide delegation is not granted to this service account" in page
    assert "Manage domain-wide delegation" in page and "unauthorized_client" in page
    with oauth_app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="credentials_rejected").one()
        assert event.actor == "system" and "Domain-wide delegation" in event.detail


def test_a_mailbox_the_application_was_not_granted_is_explained(microsoft_application, microsoft_server, oauth_app,
                                                                 mail):
    save_oauth_settings(oauth_app, mailboxes="ceo@example.com\n" + MAILBOX[0])  # the first listed is used
    page = mail.send_test(microsoft_application)
    assert "535 5.7.3 Authentication unsuccessful" in page
    assert "Add-MailboxPermission -Identity <mailbox>" in page and "New-ServicePrincipal" in page
    attempts = microsoft_application.auth_attempts
    assert [(a["login"], a["ok"]) for a in attempts] == [("ceo@example.com", False)] * 2  # a new token, tried once
    assert len(microsoft_server.app_token_requests()) == 2


@pytest.mark.parametrize("values, missing", [
    (dict(client_id=""), "Application sign-in needs the Client ID"),
    (dict(tenant="organizations"), "Application sign-in needs your tenant"),
    (dict(mailboxes=""), "list at least one under Mailboxes"),
])
def test_what_the_oauth_page_lacks_is_said_before_anything_is_asked(microsoft_application, microsoft_server, mail,
                                                                     oauth_app, values, missing):
    save_oauth_settings(oauth_app, **values)
    assert missing in mail.send_test(microsoft_application)
    assert microsoft_server.token_requests == [] and microsoft_application.connections == 0


def logged_in_mail_actions(app) -> MailActions:
    client = app.test_client()
    actions = AuthActions(app, client)
    actions.create()
    actions.login()
    return MailActions(client)


def test_a_national_clouds_scope_is_asked_for(make_app, make_smtp, pki):
    us_government = OAuthTestServer("microsoft", app_resource="https://outlook.office365.us").start()
    try:
        us_government.register_client(*CLIENT, [])
        us_government.grant_mailbox(CLIENT[0], MAILBOX[0])
        app = make_app(OAUTH_PROVIDER_OVERRIDES={"microsoft": us_government.provider_override()},
                       SMTP_CA_BUNDLE=pki.ca_cert_path, SMTP_TIMEOUT=3)
        mail = logged_in_mail_actions(app)
        save_oauth_settings(app, provider="microsoft", sign_in="application", cloud="usgov",
                            tenant="contoso.onmicrosoft.us", client_id=CLIENT[0], client_secret=CLIENT[1],
                            mailboxes=MAILBOX[0])
        smtp = make_smtp(us_government)
        mail.save(smtp)
        assert "Test email accepted" in mail.send_test(smtp)
        (call,) = us_government.app_token_requests()
        assert call["scope"] == "https://outlook.office365.us/.default" and call["ok"]
    finally:
        us_government.stop()
