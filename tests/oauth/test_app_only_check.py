"""The OAuth page's Check of app-only sign-in, against the test authorization and SMTP servers: a new token and SMTP
AUTH as each listed mailbox, each result with the answer and the fix, nothing sent, nothing secret shown."""

import html

import pytest

from ddenterpriseapi.extensions import current_runtime, db
from ddenterpriseapi.mail.app_check import CheckImpossible, check_app_only
from ddenterpriseapi.models import AuditEvent, MailServer, OAuthSettings
from tests.helpers import CLIENT, MAILBOX, app_tokens, csrf_from, save_oauth_settings

PAGE = "/ddenterpriseapi/configuration/oauth"
OTHER = "sales@example.com"


def check(client) -> str:
    """Click Check on the OAuth page; the page that comes back."""
    response = client.post(PAGE + "/check", data={"csrf_token": csrf_from(client.get(PAGE)), "submit": "Check"})
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def results(page: str) -> str:
    return page[page.index('id="check-results"'):]


def audit_events(app, action="app_only_checked"):
    with app.app_context():
        return [(event.actor, event.wording, event.params)
                for event in db.session.query(AuditEvent).filter_by(action=action)]


def test_every_mailbox_signs_in(microsoft_application, microsoft_server, oauth_app, admin_client):
    microsoft_server.grant_mailbox(CLIENT[0], OTHER)
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\n{OTHER}")
    page = results(check(admin_client))
    assert page.count("token obtained, SMTP AUTH accepted") == 2 and MAILBOX[0] in page and OTHER in page
    assert [(a["login"], a["ok"]) for a in microsoft_application.auth_attempts] == [(MAILBOX[0], True), (OTHER, True)]
    assert microsoft_application.messages == []  # nothing sent
    assert len(microsoft_server.app_token_requests()) == 1  # the application's one token serves both
    cached = app_tokens(oauth_app)[""]["access_token"]
    assert cached not in page and CLIENT[1] not in page
    assert audit_events(oauth_app) == [("admin", "mailboxes_checked", {"ok": 2, "checked": 2})]


def test_a_check_asks_for_a_new_token(microsoft_application, microsoft_server, oauth_app, admin_client, mail):
    assert "Test email accepted" in mail.send_test(microsoft_application)
    before = app_tokens(oauth_app)[""]["access_token"]
    check(admin_client)
    assert len(microsoft_server.app_token_requests()) == 2
    after = app_tokens(oauth_app)[""]
    assert after["access_token"] != before and after["rejection"] is None  # the new one cached in its place


def test_a_wrong_secret_is_explained_for_every_mailbox(microsoft_application, microsoft_server, oauth_app,
                                                       admin_client):
    save_oauth_settings(oauth_app, client_secret="the secret's ID", mailboxes=f"{MAILBOX[0]}\n{OTHER}")
    page = results(check(admin_client))
    assert page.count("AADSTS7000215") == 2
    assert page.count("The client secret is wrong: paste the secret's Value, not its Secret ID.") == 2
    assert page.count("token request failed") == 2
    assert len(microsoft_server.app_token_requests()) == 1 and microsoft_application.connections == 0
    assert "the secret's ID" not in page
    (event,) = audit_events(oauth_app)
    assert event[2]["ok"] == 0 and "invalid_client" in event[2]["failed"]


def test_a_mailbox_without_permission_is_explained(microsoft_application, microsoft_server, oauth_app, admin_client):
    save_oauth_settings(oauth_app, mailboxes=f"ceo@example.com\n{MAILBOX[0]}")
    page = results(check(admin_client))
    failed, passed = page.split(f"<strong>{MAILBOX[0]}</strong>")
    assert "ceo@example.com" in failed and "SMTP AUTH refused" in failed
    assert "535 5.7.3 Authentication unsuccessful" in failed
    assert "Add-MailboxPermission -Identity <mailbox>" in failed
    assert failed.index("Add-MailboxPermission") < failed.index("535 5.7.3")  # the fix first
    assert "token obtained, SMTP AUTH accepted" in passed
    assert microsoft_application.messages == []
    (event,) = audit_events(oauth_app)
    assert event[2] == {"ok": 1, "checked": 2,
                        "failed": "ceo@example.com (auth: 535 5.7.3 Authentication unsuccessful)"}


def test_google_delegation_revoked_is_explained(google_service_account, google_server, oauth_app, admin_client):
    smtp, account = google_service_account
    google_server.revoke_domain_wide_delegation(account.client_id)
    page = results(check(admin_client))
    assert "Domain-wide delegation is not granted to this service account" in page and "unauthorized_client" in page
    assert smtp.connections == 0
    google_server.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    page = results(check(admin_client))  # the refusal just recorded does not stop a check after the fix
    assert "token obtained, SMTP AUTH accepted" in page
    assert app_tokens(oauth_app)[MAILBOX[0]]["rejection"] is None


def test_an_email_server_without_oauth_is_said(microsoft_application, microsoft_server, mail, admin_client):
    mail.save(microsoft_application, authentication="none")
    response = admin_client.post(PAGE + "/check", data={"csrf_token": csrf_from(admin_client.get(PAGE))},
                                 follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert "The email server does not sign in with OAuth" in page and 'id="check-results"' not in page
    assert microsoft_server.app_token_requests() == []


def test_a_check_needs_the_csrf_token(microsoft_application, microsoft_server, admin_client):
    response = admin_client.post(PAGE + "/check", data={})
    assert response.status_code in (302, 400)
    assert microsoft_server.app_token_requests() == [] and microsoft_application.connections == 0



def test_an_email_server_never_configured_is_said(app):
    settings = OAuthSettings(provider="custom", sign_in="application", mailboxes=MAILBOX[0])
    with app.app_context(), pytest.raises(CheckImpossible, match="Configure the email server first"):
        check_app_only(settings, MailServer(id=1, authentication="oauth"), current_runtime())



def test_google_mailbox_outside_the_domain_is_explained(google_service_account, google_server, oauth_app,
                                                        admin_client):
    smtp, _account = google_service_account
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nreports@elsewhere.org")
    passed, failed = results(check(admin_client)).split("<strong>reports@elsewhere.org</strong>")
    assert "token obtained, SMTP AUTH accepted" in passed
    assert "The mailbox is not a user of the Google Workspace domain" in failed and "invalid_grant" in failed
    assert [call["subject"] for call in google_server.app_token_requests()] == [MAILBOX[0], "reports@elsewhere.org"]
    assert [attempt["login"] for attempt in smtp.auth_attempts] == [MAILBOX[0]]
