"""What an administrator sees when things go wrong, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.helpers import ADMIN, CLIENT, MAILBOX

pytestmark = pytest.mark.browser


def start_authorization(page, live, provider="google", secret=CLIENT[1]):
    page.goto(live.url + "/configuration/oauth")
    page.get_by_label("OAuth Provider").select_option(provider)
    if provider == "microsoft":
        page.get_by_label("Tenant").fill("organizations")
    page.get_by_label("Client ID").fill(CLIENT[0])
    page.get_by_label("Client Secret").fill(secret)
    page.get_by_label("Your password").fill(ADMIN[1])
    page.get_by_role("button", name="Authorize").click()
    page.get_by_label("Email").fill(MAILBOX[0])
    page.get_by_label("Password").fill(MAILBOX[1])
    page.get_by_role("button", name="Sign in").click()


def test_consent_refused(logged_in, live, shot, google_server):
    page = logged_in
    start_authorization(page, live)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("Consent was refused")).to_be_visible()
    expect(page.get_by_label("Refresh token")).to_have_value("")
    expect(page.get_by_label("Client ID")).to_have_value(CLIENT[0])  # the saved parameters stay
    shot("consent-refused")
    assert_accessible(page)


def test_wrong_client_secret(logged_in, live, shot, microsoft_server):
    page = logged_in
    start_authorization(page, live, "microsoft", secret="the secret's ID, not its value")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text(re.compile("AADSTS7000215"))).to_be_visible()
    expect(page.get_by_text(re.compile("paste the secret's Value"))).to_be_visible()
    shot("wrong-secret")


def test_smtp_refusing_the_token(logged_in, live, shot, microsoft_server, make_smtp):
    page = logged_in
    start_authorization(page, live, "microsoft")
    page.get_by_role("button", name="Accept").click()
    smtp = make_smtp(microsoft_server)
    page.goto(live.url + "/configuration/email-server")
    page.get_by_label("SMTP host").fill(smtp.host)
    page.get_by_label("Port", exact=True).fill(str(smtp.port))
    page.get_by_label("Username").fill("someone-else@example.com")
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text(re.compile("535 5.7.3")).first).to_be_visible()
    expect(page.get_by_text(re.compile("is not the authorized account"))).to_be_visible()
    shot("smtp-refused")
    assert_accessible(page)


def test_reauthorization_required(logged_in, live, shot, google_server, make_smtp):
    page = logged_in
    start_authorization(page, live)
    page.get_by_role("button", name="Accept").click()
    smtp = make_smtp(google_server, style="google")
    page.goto(live.url + "/configuration/email-server")
    page.get_by_label("SMTP host").fill(smtp.host)
    page.get_by_label("Port", exact=True).fill(str(smtp.port))
    page.get_by_role("button", name="Save").click()
    google_server.revoke_all()
    google_server.expire_access_tokens()
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_role("alert")).to_contain_text("Re-authorization required")
    shot("reauthorization-email-page")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Re-authorization required")).to_be_visible()
    shot("reauthorization-dashboard")
    assert_accessible(page)
