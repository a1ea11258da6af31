"""The email server page in a browser: the provider's server offered when the typed one no longer fits (without
JavaScript), and a test send that shows it is under way."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible
from tests.helpers import ADMIN, AuthActions, MailActions, OAuthActions

pytestmark = pytest.mark.browser


def admin_client(live):
    client = live.app.test_client()
    AuthActions(live.app, client).login()
    return client


def test_provider_server_is_offered_after_a_change_of_provider(browser, live, google_server, shot):
    AuthActions(live.app, live.app.test_client()).create()
    client = admin_client(live)
    OAuthActions(client, google_server).save("microsoft")
    MailActions(client).save(host="smtp.office365.com", port="587")
    OAuthActions(client, google_server).connect()  # the provider becomes Google
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.goto(live.url + "/configuration/email-server")
    expect(page.locator("#own-host")).to_contain_text("not to smtp.office365.com")
    shot("provider-changed")
    assert_accessible(page)
    page.get_by_role("button", name="Use Google's server (smtp.gmail.com:587, STARTTLS)").click()
    expect(page.get_by_text("The email server now follows the provider on the OAuth page.")).to_be_visible()
    expect(page.locator("#destination")).to_have_text("Mail goes to smtp.gmail.com:587, security STARTTLS.")
    expect(page.get_by_label("SMTP host")).to_have_value("")
    expect(page.locator("#own-host")).to_have_count(0)
    shot("provider-server-taken")
    context.close()


def test_test_send_shows_it_is_under_way(logged_in, live, google_server, make_smtp, shot):
    page = logged_in
    client = admin_client(live)
    OAuthActions(client, google_server).connect()
    smtp = make_smtp(google_server, style="google")
    MailActions(client).save(smtp)
    smtp.hang_after_data(1.5)
    page.goto(live.url + "/configuration/email-server")
    expect(page.locator("#test-duration")).to_contain_text("A test can take up to 3 s")
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    button = page.locator("#send_test")
    expect(button).to_be_disabled()
    expect(button).to_have_value("Sending... up to 3 s")
    expect(page.locator("#test-progress")).to_contain_text("Waiting for the server")
    shot("test-under-way")
    expect(page.get_by_text("Test email accepted by the server for boss@example.org")).to_be_visible()
    expect(page.locator("#send_test")).to_be_enabled()
    shot("test-done")
