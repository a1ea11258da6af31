"""The administrator's journey in a real browser: setup to a delivered test email."""

import re

import pytest
from playwright.sync_api import expect

from ddenterpriseapi.auth.setup_code import setup_code
from tests.browser.helpers import assert_accessible
from tests.helpers import CLIENT, MAILBOX

pytestmark = pytest.mark.browser

PASSWORD = "a long admin password"


def first_run_setup(page, live, shot):
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/ddenterpriseapi/setup$"))
    shot("setup")
    assert_accessible(page)
    page.get_by_label("Setup code").fill(setup_code(live.app.instance_path))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="OAuth parameters")).to_be_visible()


def test_journey_to_a_delivered_test_email(page, live, shot, microsoft_server, make_smtp):
    first_run_setup(page, live, shot)
    tenant_field = page.get_by_label("Tenant")
    expect(tenant_field).to_be_hidden()
    page.get_by_label("OAuth Provider").select_option("microsoft")
    expect(tenant_field).to_be_visible()
    tenant_field.fill("contoso.com")
    authorization_url = page.get_by_label("Authorization URL")
    expect(authorization_url).to_have_value(re.compile(r"/contoso\.com/oauth2/v2\.0/authorize$"))
    expect(authorization_url).to_have_attribute("readonly", "")
    page.get_by_label("OAuth Provider").select_option("google")
    expect(tenant_field).to_be_hidden()
    expect(authorization_url).to_have_value(re.compile(r"/o/oauth2/v2/auth$"))
    page.get_by_label("OAuth Provider").select_option("microsoft")
    tenant_field.fill("fabrikam.com")
    expect(page.get_by_label("Token URL")).to_have_value(re.compile(r"/fabrikam\.com/oauth2/v2\.0/token$"))
    tenant_field.fill("contoso.com")
    page.get_by_label("Client ID").fill(CLIENT[0])
    page.get_by_label("Client Secret").fill(CLIENT[1])
    page.get_by_label("Your password").fill(PASSWORD)
    shot("oauth-filled")
    page.get_by_role("button", name="Authorize").click()

    page.get_by_label("Email").fill(MAILBOX[0])
    page.get_by_label("Password").fill(MAILBOX[1])
    page.get_by_role("button", name="Sign in").click()
    shot("provider-consent")
    page.get_by_role("button", name="Accept").click()

    expect(page.get_by_text(f"Authorized as {MAILBOX[0]}").first).to_be_visible()
    expect(page.get_by_label("Refresh token")).to_have_value(re.compile(r"^.{4}….{4}$"))
    shot("oauth-authorized")

    smtp = make_smtp(microsoft_server)
    page.get_by_role("link", name="Email server").click()
    page.get_by_label("SMTP host").fill(smtp.host)
    page.get_by_label("Port", exact=True).fill(str(smtp.port))
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Test email accepted by the server for boss@example.org")).to_be_visible()
    shot("email-server-sent")
    (received,) = smtp.wait_for_messages(1)
    assert received.auth_mechanism == "XOAUTH2" and received.rcpt_tos == ["boss@example.org"]
