"""The email server page in a browser: the provider's server offered when the typed one no longer fits (without
JavaScript), and a test send that shows it is under way."""

import base64

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.helpers import (
    ADMIN,
    CLIENT,
    MAILBOX,
    AuthActions,
    MailActions,
    OAuthActions,
    reconfigure,
    save_oauth_settings,
)

pytestmark = pytest.mark.browser


def admin_client(live):
    client = live.app.test_client()
    AuthActions(live.app, client).login()
    return client


def test_provider_server_is_offered_after_a_change_of_provider(browser, logged_in, live, google_server, shot):
    client = admin_client(live)
    OAuthActions(client, google_server).save("microsoft")
    MailActions(client).save(host="smtp.office365.com", port="587")
    OAuthActions(client, google_server).connect()  # the provider becomes Google
    logged_in.goto(live.url + "/configuration/email-server")
    expect(logged_in.locator("#own-host")).to_contain_text("not to smtp.office365.com")
    shot("provider-changed")
    assert_accessible(logged_in)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.goto(live.url + "/configuration/email-server")
    page.get_by_role("button", name="Use Google's server (smtp.gmail.com:587, STARTTLS)").click()
    expect(page.get_by_text("The email server now follows the provider on the OAuth page.")).to_be_visible()
    expect(page.locator("#destination")).to_have_text("Mail goes to smtp.gmail.com:587, security STARTTLS.")
    expect(page.get_by_label("SMTP host")).to_have_value("")
    expect(page.locator("#own-host")).to_have_count(0)
    context.close()
    logged_in.reload()
    shot("provider-server-taken")


def test_test_send_shows_it_is_under_way(logged_in, live, google_server, make_smtp, shot):
    page = logged_in
    client = admin_client(live)
    OAuthActions(client, google_server).connect()
    smtp = make_smtp(google_server, style="google")
    MailActions(client).save(smtp)
    reconfigure(live.app, SMTP_TIMEOUT=10)
    smtp.hang_after_data(3)
    page.goto(live.url + "/configuration/email-server")
    expect(page.locator("#test-duration")).to_contain_text("A test can take up to 10 s")
    page.get_by_label("Test recipient").fill("boss@example.org")
    # Clicked from the page and read a moment later from the page itself: Playwright's own click and locators wait
    # for the answer the page is waiting for.
    state = page.evaluate("""() => {
        const button = document.querySelector("#send_test");
        button.scrollIntoView({block: "center"});
        button.click();
        return new Promise((done) => setTimeout(() => done({disabled: button.disabled, label: button.value,
            progress: document.querySelector("#test-progress").textContent}), 1200));
    }""")
    assert state == {"disabled": True, "label": "Sending... up to 10 s",
                     "progress": "Waiting for the server: 1 s so far."}
    under_way = page.context.new_cdp_session(page).send("Page.captureScreenshot")  # does not wait for the answer
    (shot.directory / "00-test-under-way.png").write_bytes(base64.b64decode(under_way["data"]))
    expect(page.get_by_text("Test email accepted by the server for boss@example.org")).to_be_visible()
    expect(page.locator("#send_test")).to_be_enabled()
    shot("test-done")


def test_the_script_fills_in_the_server_of_the_national_cloud(logged_in, live, shot):
    save_oauth_settings(live.app, provider="microsoft", cloud="usgov", tenant="contoso.onmicrosoft.us")
    page = logged_in
    page.goto(live.url + "/configuration/email-server")
    expect(page.get_by_label("SMTP host")).to_have_attribute("placeholder", "smtp.office365.us")
    page.get_by_label("Authentication").select_option("password")
    expect(page.get_by_label("SMTP host")).to_have_value("smtp.office365.us")
    expect(page.get_by_label("Port", exact=True)).to_have_value("587")
    page.get_by_label("Authentication").select_option("oauth")
    expect(page.get_by_label("SMTP host")).to_have_value("")  # the provider's again: blank, following it


def test_choosing_microsoft_graph_shows_the_smtp_server_not_in_use(logged_in, live, microsoft_server, graph_api, shot):
    client = admin_client(live)
    OAuthActions(client, microsoft_server).connect("microsoft")
    MailActions(client).save(host="smtp.office365.com", port="587")
    page = logged_in
    page.goto(live.url + "/configuration/email-server")
    expect(page.locator("#smtp-settings")).not_to_have_class("smtp-settings not-in-use")
    expect(page.locator("#smtp-unused")).to_be_hidden()
    page.get_by_label("Transport").select_option("graph")
    expect(page.locator("#smtp-settings")).to_have_class("smtp-settings not-in-use")
    expect(page.locator("#smtp-unused")).to_be_visible()
    expect(page.locator("#transport-help")).to_contain_text("Microsoft Graph: over HTTPS (port 443)")
    shot("graph-chosen")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Email server saved.")).to_be_visible()
    expect(page.locator("#destination")).to_have_text(
        f"Mail goes to Microsoft Graph ({graph_api.base_url}/v1.0), as reports@example.com.")
    expect(page.locator("#missing-consent")).to_contain_text("https://graph.microsoft.com/Mail.Send")
    expect(page.get_by_label("SMTP host")).to_have_value("smtp.office365.com")  # kept, unused
    expect(page.locator("#smtp-settings")).to_have_class("smtp-settings not-in-use")  # as saved, from the server
    shot("graph-saved")
    assert_accessible(page)


def consent(page, permission: str | None = None) -> None:
    """The provider's sign-in (unless still signed in there), then its consent page (listing `permission`),
    accepted."""
    accept, email = page.get_by_role("button", name="Accept"), page.get_by_label("Email")
    expect(accept.or_(email)).to_be_visible()
    if email.is_visible():
        email.fill(MAILBOX[0])
        page.get_by_label("Password").fill(MAILBOX[1])
        page.get_by_role("button", name="Sign in").click()
    if permission:
        expect(page.get_by_text(permission)).to_be_visible()
    page.get_by_role("button", name="Accept").click()


def test_when_smtp_auth_is_off_one_click_moves_mail_to_microsoft_graph(logged_in, live, microsoft_server, graph_api,
                                                                       make_smtp, shot):
    """A tenant turns SMTP AUTH off: the test email fails with 5.7.139, the page proposes Microsoft Graph, and one
    click (then the provider's consent to Mail.Send) sends the next test email through it."""
    page = logged_in
    page.goto(live.url + "/configuration/oauth")  # authorized in the browser: for SMTP alone, SMTP chosen then
    page.get_by_label("OAuth Provider").select_option("microsoft")
    page.get_by_label("Tenant").fill("contoso.com")
    page.get_by_label("Client ID").fill(CLIENT[0])
    page.get_by_label("Client Secret").fill(CLIENT[1])
    page.get_by_label("Your password").fill(ADMIN[1])
    page.get_by_role("button", name="Authorize").click()
    consent(page)
    expect(page.get_by_text(f"Authorized as {MAILBOX[0]}").first).to_be_visible()
    smtp = make_smtp(microsoft_server)
    MailActions(admin_client(live)).save(smtp)
    smtp.disable_smtp_auth()
    page.goto(live.url + "/configuration/email-server")
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.locator("#suggestion")).to_contain_text("SMTP is closed for this mailbox, but Microsoft Graph "
                                                        "answers over HTTPS")
    shot("smtp-auth-disabled")
    assert_accessible(page)
    page.locator("#suggestion").get_by_role("button", name="Use Microsoft Graph").click()
    consent(page, "https://graph.microsoft.com/Mail.Send")
    page.goto(live.url + "/configuration/email-server")
    expect(page.locator("#destination")).to_contain_text("Mail goes to Microsoft Graph")
    expect(page.locator("#missing-consent")).to_have_count(0)
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Test email accepted by the server for boss@example.org")).to_be_visible()
    expect(page.get_by_role("region", name="What happened")).to_contain_text("202 Accepted request-id=")
    shot("sent-through-graph")
    assert len(graph_api.wait_for_messages(1)) == 1 and smtp.messages == []
