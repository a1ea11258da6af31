"""Under app-only sign-in the OAuth page, the email server page and the dashboard say who signs in and as which
mailboxes, the cached token's expiry and a refusal of the credentials, never a delegated authorization's state."""

import html

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection
from tests.helpers import MAILBOX, save_oauth_settings

PAGES = ["/ddenterpriseapi/", "/ddenterpriseapi/configuration/email-server", "/ddenterpriseapi/configuration/oauth"]
DELEGATED_STATE = ("Authorized as", "authorized as", "Not authorized yet", "not authorized yet",
                   "Re-authorization required", "someone@example.com", "refresh token was revoked")


def shown(client, path) -> str:
    """The page down to the OAuth page's form, whose delegated fields stay for a switch back to delegated sign-in."""
    return html.unescape(client.get(path).get_data(as_text=True)).split('id="oauth-form"')[0]


@pytest.fixture
def left_by_delegated_sign_in(oauth_app):
    """A delegated authorization, dead since, left from before app-only sign-in was chosen."""
    with oauth_app.app_context():
        db.session.add(OAuthConnection(provider="microsoft", account_email="someone@example.com",
                                       refresh_token="old", reauthorization_error="The refresh token was revoked."))
        db.session.commit()


@pytest.mark.parametrize("path", PAGES)
def test_app_only_sign_in_is_shown_instead_of_an_authorization(microsoft_application, left_by_delegated_sign_in,
                                                                admin_client, mail, path):
    page = shown(admin_client, path)
    assert f"App-only sign-in (Application) as {MAILBOX[0]}" in page
    assert not [said for said in DELEGATED_STATE if said in page]
    assert "Access token valid until" not in page or "none cached" in page
    assert "Test email accepted" in mail.send_test(microsoft_application)
    page = shown(admin_client, path)
    assert "Access token valid until" in page and "none cached" not in page and "Credentials rejected" not in page


@pytest.mark.parametrize("path", PAGES)
def test_a_refusal_of_the_credentials_is_shown_with_its_fix(microsoft_application, left_by_delegated_sign_in,
                                                            oauth_app, admin_client, mail, path):
    save_oauth_settings(oauth_app, client_secret="the secret's ID")
    mail.send_test(microsoft_application)
    page = shown(admin_client, path)
    assert "Credentials rejected" in page
    assert "The provider refused the application's credentials. The client secret is wrong" in page
    assert "AADSTS7000215" in page and f"App-only sign-in (Application) as {MAILBOX[0]}" in page
    assert not [said for said in DELEGATED_STATE if said in page]


@pytest.mark.parametrize("path", PAGES)
def test_a_service_account_is_shown_with_its_mailboxes(google_service_account, admin_client, oauth_app, path):
    save_oauth_settings(oauth_app, mailboxes=f"{MAILBOX[0]}\nalerts@example.com")
    page = shown(admin_client, path)
    assert f"App-only sign-in (Service account) as {MAILBOX[0]}, alerts@example.com" in page
    assert "Not configured" not in page.split("tile-mail")[0]  # a service account has no client ID to enter
