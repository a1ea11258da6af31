"""A live console on 127.0.0.1 and Debian's Chromium driven by Playwright."""

from pathlib import Path

import pytest

from tests.conftest import ADMIN, CALLBACK, CLIENT, AuthActions
from tests.servers.live import LiveConsole

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


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


class Shots:
    """Screenshots of every page a test visits, kept for people to look at."""

    def __init__(self, page, test_name: str):
        self.page, self.directory = page, ARTIFACTS / test_name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, name: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


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


def assert_accessible(page) -> None:
    """axe-core finds no violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
