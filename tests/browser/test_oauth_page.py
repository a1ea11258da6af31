"""The OAuth parameters page as an administrator meets it the first time, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.helpers import ADMIN, AuthActions, OAuthActions

pytestmark = pytest.mark.browser

PAGE = "/configuration/oauth"


def log_in_at(page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")


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
    page.get_by_label("Tenant").fill("contoso")
    page.get_by_label("Client ID").fill("console-client")
    page.get_by_label("Client Secret").fill("a secret typed once")
    page.get_by_label("Your password").fill(ADMIN[1])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tenant-error")).to_be_visible()
    expect(page.get_by_text(re.compile("common, organizations, consumers"))).to_have_count(1)
    expect(page.get_by_label("Client Secret")).to_have_value("")
    expect(page.locator("#client_secret-hint")).to_contain_text("type it again")
    assert "a secret typed once" not in page.content()
    shot("secret-to-type-again")
