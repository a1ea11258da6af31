"""The pages as administrators use them: accessible, keyboard-friendly, narrow screens, no JavaScript."""

import os
import re
import socket
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import OAuthConnection
from ddenterpriseapi.providers import PRESETS
from tests.browser.helpers import README_ADDRESS, Shots, as_shipped, assert_accessible
from tests.helpers import ADMIN, AuthActions

pytestmark = pytest.mark.browser

PAGES = ["/", "/outbox", "/configuration/oauth", "/configuration/email-server", "/configuration/notifications",
         "/configuration/api-keys", "/audit",
         "/configuration/administrators", "/account/password", "/account/sessions"]


def log_in(page, live):
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url + "/")


@contextmanager
def logged_in_at(browser, live, width: int, language: str = "en"):
    """A logged-in page this many pixels wide, in this language, closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, live)
    page.goto(f"{live.url}/?lang={language}")
    try:
        yield page
    finally:
        context.close()


def test_every_page_is_accessible(page, live, authorized, shot):
    page.goto(live.url + "/login")
    assert_accessible(page)
    log_in(page, live)
    for path in [*PAGES, "/no-such-page"]:
        page.goto(live.url + path)
        shot(path.strip("/").replace("/", "-") or "dashboard")
        assert_accessible(page)


def test_dashboard_shows_the_state_at_a_glance(page, live, authorized):
    log_in(page, live)
    expect(page.get_by_text("Authorized as reports@example.com")).to_be_visible()
    expect(page.get_by_text("Access token valid until")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^OK · "))).to_be_visible()


def test_keyboard_navigation_and_visible_focus(page, live, authorized):
    log_in(page, live)
    page.goto(live.url + "/configuration/oauth")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    outline = None
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "provider":
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            break
    assert outline not in (None, "none"), "the OAuth Provider field is reachable by keyboard with a visible focus"
    page.keyboard.press("ArrowDown")  # choose Microsoft with the keyboard
    expect(page.get_by_label("Tenant")).to_be_visible()


@pytest.mark.parametrize("path", PAGES)
def test_usable_at_360_pixels(browser, live, authorized, path):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    log_in(page, live)
    page.goto(live.url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    context.close()


def test_works_without_javascript(browser, live, google_server, shot):
    AuthActions(live.app, live.app.test_client()).create()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live)
    page.goto(live.url + "/configuration/oauth")
    page.get_by_label("OAuth Provider").select_option("microsoft")
    page.get_by_label("Client ID").fill("no-js-client")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tenant-error")).to_contain_text("Enter the tenant")
    expect(page.get_by_label("Client ID")).to_have_value("no-js-client")  # what was typed is kept
    page.get_by_label("Tenant").fill("contoso.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
    expect(page.get_by_label("Authorization URL")).to_have_value(re.compile(r"/contoso\.com/oauth2/v2\.0/authorize$"))
    shot("no-javascript")
    context.close()


@pytest.mark.skipif(not os.environ.get("DDE_SCREENSHOTS"), reason="make screenshots takes the README's pictures")
def test_readme_screenshots(page, live, authorized, monkeypatch):
    """The README's pictures of the two main pages (make screenshots refreshes docs/screenshots/), as a newcomer sees
    them: the providers' real endpoints and SMTP server, after a real test email, and no test server's address."""
    target = Path(os.environ["DDE_SCREENSHOTS"])
    target.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1000, "height": 900})
    log_in(page, live)
    with as_shipped(live.app):
        page.goto(live.url + "/configuration/oauth")
        # Blank, the redirect URI follows PUBLIC_URL (the README's address), as in a console set up from the README
        page.get_by_label("Authorized redirect URI").fill("")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
        page.goto(live.url + "/configuration/oauth")
    expect(page.get_by_label("Authorized redirect URI")).to_have_value(README_ADDRESS + "/v2/oauth/redirect")
    expect(page.get_by_label("Authorization URL")).to_have_value(PRESETS["google"].authorization_url)
    expect(page.get_by_label("Token URL")).to_have_value(PRESETS["google"].token_url)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = false)")
    expect(page.locator("body")).not_to_contain_text("127.0.0.1")  # no test server shows
    page.screenshot(path=str(target / "oauth-parameters.png"), full_page=True)
    google = PRESETS["google"]
    resolve_to(monkeypatch, google.smtp_host, authorized)
    with as_shipped(live.app):
        page.goto(live.url + "/configuration/email-server")
        page.get_by_label("SMTP host").fill("")  # host, port and security follow the provider
        page.get_by_label("Port", exact=True).fill("")
        page.get_by_label("Security").select_option("")
        page.get_by_label("Test recipient").fill("boss@example.org")
        page.get_by_role("button", name="Send test email").click()
        expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    where = f"{google.smtp_host}:{google.smtp_port}"
    expect(page.locator("#destination")).to_contain_text(where)
    expect(page.locator("li", has_text="CONNECT")).to_contain_text(where)
    expect(page.get_by_text("Test email accepted by the server")).to_be_visible()
    assert authorized.wait_for_messages(2)  # the fixture's, and this one
    expect(page.locator("body")).not_to_contain_text("127.0.0.1")
    page.screenshot(path=str(target / "email-server.png"), full_page=True)
    assert (target / "oauth-parameters.png").stat().st_size > 10_000


def resolve_to(monkeypatch, host: str, smtp) -> None:
    """The host name leads to the test SMTP server, as a hosts-file entry would: the console's conversation with
    it is real, and the page shows the provider's server an administrator sees."""
    guarded = socket.getaddrinfo

    def getaddrinfo(name, port, *args, **kwargs):
        return guarded(*(("127.0.0.1", smtp.port) if name == host else (name, port)), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_language_switch(page, live, authorized):
    log_in(page, live)
    page.goto(live.url + "/configuration/email-server")
    page.get_by_label("Language").select_option("fr")  # submits itself
    expect(page.get_by_role("heading", name="Serveur de messagerie")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="Tableau de bord").click()
    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    assert_accessible(page)


def test_disconnect_asks_first_and_the_dashboard_stops_saying_ok(page, live, authorized, google_server, shot):
    log_in(page, live)
    page.goto(live.url + "/configuration/oauth")
    page.get_by_role("button", name="Remove authorization").click()  # unconfirmed: the browser asks
    assert page.get_by_label("Yes, stop sending with OAuth").evaluate("box => box.validity.valueMissing")
    assert not google_server.revoked
    shot("disconnect-asks-first")
    page.get_by_label("Yes, stop sending with OAuth").check()
    page.get_by_role("button", name="Remove authorization").click()
    expect(page.get_by_text("The provider revoked the refresh token.")).to_be_visible()
    shot("disconnected")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Sending stopped")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^OK · .* · sending has stopped since$"))).to_be_visible()
    expect(page.get_by_role("heading", name="Last error")).to_be_visible()
    shot("dashboard-after-disconnect")
    assert_accessible(page)


def test_an_expired_access_token_is_explained_calmly(page, live, authorized, shot):
    with live.app.app_context():
        db.session.get(OAuthConnection, 1).access_token_expires_at = datetime.now(UTC) - timedelta(hours=3)
        db.session.commit()
    log_in(page, live)
    expect(page.get_by_text("expired, as usual between sends: a new one is fetched at the next send")).to_be_visible()
    shot("dashboard-expired-access-token")


def test_the_icon_shows_without_login(page, live):
    page.goto(live.url + "/login")
    width = page.evaluate("""async () => {
        const icon = new Image();
        icon.src = document.querySelector("link[rel=icon]").href;
        await icon.decode();
        return icon.naturalWidth;
    }""")
    assert width > 0
    answer = page.request.get(live.url.removesuffix("/ddenterpriseapi") + "/favicon.ico", max_redirects=0)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/")


TOP_BAR_ROWS = """() => {
  const middles = selector => [...document.querySelectorAll(selector)].map(element => {
    const box = element.getBoundingClientRect();
    return Math.round((box.top + box.bottom) / 2);
  });
  return {first: middles('.topbar .brand, .topbar .account li, .topbar .language'),
          sections: middles('.topbar .sections li')};
}"""


@pytest.mark.parametrize("width, language", [(1265, "fr"), (1280, "en")])
def test_top_bar_keeps_two_tidy_rows(browser, live, authorized, width, language):
    """The brand, the account and the language share the first row; the sections fill one row of their own."""
    with logged_in_at(browser, live, width, language) as page:
        rows = page.evaluate(TOP_BAR_ROWS)
        Shots(page, f"top-bar-{width}-{language}")("dashboard", full_page=False)
    assert max(rows["first"]) - min(rows["first"]) <= 6, rows
    assert len(set(rows["sections"])) == 1 and rows["sections"][0] > max(rows["first"]), rows
