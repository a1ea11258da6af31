"""A live console on 127.0.0.1 and Debian's Chromium driven by Playwright."""

import pytest

from tests.browser.helpers import Shots
from tests.helpers import ADMIN, CALLBACK, CLIENT, AuthActions, MailActions, OAuthActions
from tests.servers.live import LiveConsole


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def live(oauth_app, request):
    """The console on a real port; the test authorization servers accept its redirect URI."""
    with LiveConsole(oauth_app) as console:
        for name in ("google_server", "microsoft_server"):
            if name in request.fixturenames:
                request.getfixturevalue(name).register_client(
                    *CLIENT, [CALLBACK, console.url + "/v2/oauth/redirect"])
        yield console


@pytest.fixture
def shot(page, request):
    return Shots(page, request.node.name)


@pytest.fixture
def logged_in(page, live):
    """An administrator exists and the browser is logged in through the login page."""
    AuthActions(live.app, live.app.test_client()).create()
    page.goto(live.url + "/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live.url + "/")
    return page


@pytest.fixture
def authorized(live, google_server, make_smtp):
    """A console authorized with Google and configured to send (prepared through its own pages)."""
    client = live.app.test_client()
    AuthActions(live.app, client).create()
    AuthActions(live.app, client).login()
    OAuthActions(client, google_server).connect()
    smtp = make_smtp(google_server, style="google")
    MailActions(client).send_test(smtp)
    return smtp
