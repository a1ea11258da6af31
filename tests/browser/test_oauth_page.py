"""The OAuth parameters page as an administrator meets it the first time, in a real browser."""

import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Shots, assert_accessible
from tests.helpers import ADMIN, CLIENT, MAILBOX, AuthActions, MailActions, OAuthActions, csrf_from, save_oauth_settings
from tests.servers.app_credentials import app_certificate, service_account

pytestmark = pytest.mark.browser

PAGE = "/configuration/oauth"


def log_in_at(page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")


def fill_and_save(page, values: dict) -> None:
    """Type into the fields of these labels, then click Save."""
    for label, value in values.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save").click()


def test_setup_guide_opens_the_chosen_providers_section(logged_in, live, shot):
    page = logged_in
    page.goto(live.url + PAGE)
    for provider in ("microsoft", "custom", "google"):
        page.get_by_label("OAuth Provider").select_option(provider)
        expect(page.locator(f"details[data-provider={provider}]")).to_have_attribute("open", "")
        expect(page.locator("details[data-provider][open]")).to_have_count(1)
        if provider == "custom":
            expect(page.locator("#scopes-help")).to_contain_text("offline_access")
            expect(page.locator("#scopes-help")).to_contain_text("openid email")
            shot("guide-custom")
            assert_accessible(page)


def test_redirect_uri_stays_put_when_the_page_is_opened_at_another_address(logged_in, live, shot):
    page = logged_in
    page.goto(live.url + PAGE)
    page.get_by_label("Client ID").fill("console-client")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
    elsewhere = live.url.replace("127.0.0.1", "localhost")
    log_in_at(page, elsewhere)
    page.goto(elsewhere + PAGE)
    expect(page.get_by_label("Authorized redirect URI")).to_have_value(live.url + "/v2/oauth/redirect")
    expect(page.locator("#redirect-elsewhere")).to_contain_text(
        re.compile(r"You opened this page at localhost:\d+, but the saved redirect URI is at 127\.0\.0\.1:\d+"))
    shot("redirect-uri-elsewhere")
    assert_accessible(page)


def test_an_answer_on_a_path_the_console_does_not_serve_leads_to_the_paste_box(logged_in, live, shot):
    page = logged_in
    page.goto(live.url + PAGE)
    page.get_by_label("Authorized redirect URI").fill(live.url + "/oauth/callback")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The redirect URI is not on this console's callback path")).to_be_visible()
    page.goto(live.url + "/oauth/callback?code=abc&state=xyz")
    expect(page.locator("#answer-elsewhere")).to_contain_text("paste it in the box")
    shot("answer-on-an-unserved-path")
    assert_accessible(page)
    page.get_by_role("link", name="Open the box on the OAuth page").click()
    address = page.get_by_label("Address the browser ended on")
    expect(address).to_be_visible()
    address.fill("abc")
    page.get_by_role("button", name="Complete authorization").click()
    expect(page.get_by_text("Paste the whole address from the browser's address bar")).to_be_visible()
    expect(page.get_by_label("Address the browser ended on")).to_be_visible()  # the box, open to paste again
    shot("only-the-code-pasted")


def test_the_previous_providers_token_is_named_so(logged_in, live, google_server, shot):
    client = live.app.test_client()
    AuthActions(live.app, client).login()
    oauth = OAuthActions(client, google_server)
    oauth.connect()
    oauth.save("microsoft")
    page = logged_in
    page.goto(live.url + PAGE)
    expect(page.locator("#refresh-help")).to_contain_text("Issued by Google, the previous provider")
    shot("previous-providers-token")


def test_a_typed_client_secret_is_asked_again_after_an_error(logged_in, live, shot):
    page = logged_in
    page.goto(live.url + PAGE)
    page.get_by_label("OAuth Provider").select_option("microsoft")
    fill_and_save(page, {"Tenant": "contoso", "Client ID": "console-client", "Client Secret": "a secret typed once",
                         "Your password": ADMIN[1]})
    expect(page.locator("#tenant-error")).to_be_visible()
    expect(page.get_by_text(re.compile("common, organizations or consumers"))).to_have_count(1)
    expect(page.get_by_label("Client Secret")).to_have_value("")
    expect(page.locator("#client_secret-hint")).to_contain_text("type it again")
    assert "a secret typed once" not in page.content()
    shot("secret-to-type-again")


def save_oauth(client, files=None, **fields):
    """Save the OAuth page through a test client as a browser would (multipart, the page's CSRF token)."""
    data = {"provider": "google", "sign_in": "delegated", "cloud": "global", "current_password": ADMIN[1],
            "save": "1", **fields}
    for name, (filename, text) in (files or {}).items():
        data[name] = (io.BytesIO(text.encode()), filename)
    data["csrf_token"] = csrf_from(client.get("/ddenterpriseapi" + PAGE))
    answer = client.post("/ddenterpriseapi" + PAGE, data=data, content_type="multipart/form-data")
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_the_fields_follow_provider_sign_in_and_cloud_live(logged_in, live, shot):
    page = logged_in
    page.goto(live.url + PAGE)
    sign_in = page.locator("#field-sign_in")
    expect(sign_in.get_by_label("Delegated (a user signs in)")).to_be_checked()
    expect(sign_in.get_by_label("Application (no user)")).to_be_hidden()
    expect(page.get_by_label("Cloud")).to_be_hidden()
    sign_in.get_by_label("Service account (Google Workspace)").check()
    expect(page.get_by_label("Service account key file (JSON)")).to_be_visible()
    expect(page.get_by_label("Mailboxes")).to_be_visible()
    for gone in ("Client ID", "Authorization URL", "Authorized redirect URI"):
        expect(page.get_by_label(gone, exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="Authorize")).to_be_hidden()
    expect(page.get_by_label("Scopes")).to_have_value("https://mail.google.com/")
    shot("google-service-account")

    page.get_by_label("OAuth Provider").select_option("microsoft")
    expect(sign_in.get_by_label("Delegated (a user signs in)")).to_be_checked()  # Microsoft has no service account
    expect(sign_in.get_by_label("Service account (Google Workspace)")).to_be_hidden()
    expect(page.get_by_label("Authorization URL")).to_have_value(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    sign_in.get_by_label("Application (no user)").check()
    page.get_by_label("Tenant").fill("contoso.com")
    expect(page.get_by_label("Certificate (PEM)")).to_be_visible()
    expect(page.get_by_label("Enterprise application object ID")).to_be_visible()
    expect(page.get_by_label("Client Secret")).to_be_visible()
    expect(page.get_by_label("Authorization URL")).to_be_hidden()
    expect(page.get_by_label("Scopes")).to_have_value("https://outlook.office365.com/.default")
    for cloud, login, scope in (("usgov", "https://login.microsoftonline.us", "https://outlook.office365.us/.default"),
                                ("china", "https://login.chinacloudapi.cn", "https://partner.outlook.cn/.default"),
                                ("global", "https://login.microsoftonline.com",
                                 "https://outlook.office365.com/.default")):
        page.get_by_label("Cloud").select_option(cloud)
        expect(page.get_by_label("Token URL")).to_have_value(f"{login}/contoso.com/oauth2/v2.0/token")
        expect(page.get_by_label("Scopes")).to_have_value(scope)
    page.get_by_label("Cloud").select_option("usgov")
    sign_in.get_by_label("Delegated (a user signs in)").check()
    expect(page.get_by_label("Scopes")).to_have_value(
        "https://outlook.office365.us/SMTP.Send offline_access openid email")
    expect(page.get_by_label("Certificate (PEM)")).to_be_hidden()
    shot("microsoft-us-government-delegated")

    page.get_by_label("OAuth Provider").select_option("custom")
    expect(sign_in).to_be_hidden()
    expect(page.get_by_label("Cloud")).to_be_hidden()
    expect(page.get_by_label("Token URL")).to_be_editable()
    assert_accessible(page)


def test_app_only_sign_in_works_without_javascript(browser, live, request):
    AuthActions(live.app, live.app.test_client()).create()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    shot = Shots(page, request.node.name)
    log_in_at(page, live.url)
    page.goto(live.url + PAGE)
    page.get_by_label("OAuth Provider").select_option("microsoft")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tenant-error")).to_contain_text("Enter the tenant")  # the page, now Microsoft's
    page.get_by_label("Application (no user)").check()
    page.get_by_label("Tenant").fill("common")
    page.get_by_label("Client ID").fill("no-js-client")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tenant-error")).to_contain_text("the tenant's own endpoint")
    expect(page.locator("#mailboxes-error")).to_contain_text("Enter at least one mailbox")
    expect(page.get_by_label("Certificate (PEM)")).to_be_visible()  # rendered for the choice, by the server
    expect(page.get_by_label("Authorization URL")).to_be_hidden()
    shot("application-refused-without-javascript")
    fill_and_save(page, {"Tenant": "contoso.com", "Mailboxes": "reports@contoso.com", "Client Secret": "no-js-secret",
                         "Your password": ADMIN[1]})
    expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
    expect(page.locator("#app-only-status")).to_contain_text("no one signs in")
    expect(page.locator("#exchange-powershell")).to_contain_text("Connect-ExchangeOnline -Organization 'contoso.com'")
    expect(page.get_by_role("button", name="Authorize")).to_be_hidden()
    expect(page.get_by_label("Token URL")).to_have_value("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token")
    shot("application-without-javascript")
    context.close()


def test_a_key_file_is_chosen_through_the_file_input(logged_in, live, shot, tmp_path):
    key_file = service_account("https://oauth2.googleapis.com/token")
    path = tmp_path / "reports-project-1a2b3c.json"
    path.write_text(key_file.key_file)
    page = logged_in
    page.goto(live.url + PAGE)
    page.get_by_label("Service account (Google Workspace)").check()
    page.get_by_label("Service account key file (JSON)").set_input_files(str(path))
    page.get_by_label("Mailboxes").fill("reports@example.com\nalerts@example.com")
    page.get_by_label("Send as the default mailbox, with the original sender in Reply-To").check()
    page.get_by_label("Your password").fill(ADMIN[1])
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
    expect(page.locator("#service-account-stored")).to_contain_text(key_file.client_email)
    expect(page.locator("#service-account-stored")).to_contain_text(key_file.private_key_id)
    expect(page.get_by_label("Client ID", exact=True).last).to_have_value(key_file.client_id)
    expect(page.locator("#delegation-scopes")).to_have_value("https://mail.google.com/")
    expect(page.get_by_label("Send as the default mailbox, with the original sender in Reply-To")).to_be_checked()
    assert "-----BEGIN PRIVATE KEY-----" not in page.content()
    shot("service-account-saved")
    assert_accessible(page)


COMBINATIONS = {  # what is saved: the page of each provider and sign-in
    "google-delegated": {"client_id": "console-client", "client_secret": "a secret"},
    "google-service-account": {"sign_in": "service_account", "mailboxes": "reports@example.com\nalerts@example.com"},
    "microsoft-delegated": {"provider": "microsoft", "tenant": "contoso.com", "client_id": "console-client"},
    "microsoft-application": {"provider": "microsoft", "sign_in": "application", "cloud": "usgov",
                              "tenant": "contoso.onmicrosoft.us", "client_id": "6a1f4d2c-3b5e-4f70-8a9b-0c1d2e3f4a5b",
                              "mailboxes": "reports@contoso.onmicrosoft.us\no'brien@contoso.onmicrosoft.us"},
    "custom-delegated": {"provider": "custom", "authorization_url": "https://idp.example.com/authorize",
                         "token_url": "https://idp.example.com/token", "scopes": "smtp offline_access",
                         "smtp_hosts": "smtp.example.com", "client_id": "console-client"},
}


@pytest.mark.parametrize("width", [1280, 360])
def test_each_provider_and_sign_in_at_two_widths(browser, live, request, width):
    """Every provider and sign-in as saved, at a desktop's width and a phone's: nothing wider than the screen."""
    client = live.app.test_client()
    AuthActions(live.app, client).create()
    AuthActions(live.app, client).login()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    log_in_at(page, live.url)
    shots = Shots(page, request.node.name)
    for name, fields in COMBINATIONS.items():
        files = {}
        if name == "google-service-account":
            files = {"service_account_key_file": ("key.json", service_account("https://oauth2.googleapis.com/token")
                                                  .key_file)}
        elif name == "microsoft-application":
            fields = {**fields, "client_certificate": app_certificate(days=365).pem}
        save_oauth(client, files, **fields)
        page.goto(live.url + PAGE)
        page.evaluate("document.querySelectorAll('details.card, .guide details').forEach(d => d.open = false)")
        shots(name)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_check_of_app_only_sign_in(browser, live, microsoft_server, make_smtp, request, javascript):
    client = live.app.test_client()
    AuthActions(live.app, client).create()
    AuthActions(live.app, client).login()
    microsoft_server.grant_mailbox(CLIENT[0], MAILBOX[0])
    save_oauth_settings(live.app, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                        client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=f"{MAILBOX[0]}\nceo@example.com")
    smtp = make_smtp(microsoft_server)
    MailActions(client).save(smtp)
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    log_in_at(page, live.url)
    page.goto(live.url + PAGE)
    expect(page.locator("#app-only-state")).to_contain_text(f"App-only sign-in (Application) as {MAILBOX[0]}")
    page.get_by_role("button", name="Check").click()
    results = page.locator("#check-results li")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("token obtained, SMTP AUTH accepted")
    expect(results.last).to_contain_text("Add-MailboxPermission")
    expect(results.last).to_contain_text("535 5.7.3")
    assert CLIENT[1] not in page.content()
    if javascript:
        Shots(page, request.node.name)("check-results")
        assert_accessible(page)
    context.close()
