"""Fixtures: a fresh console per test, its client, and a helper for logging in."""

import re

import pytest
from alembic.migration import MigrationContext

from ddenterpriseapi import create_app
from ddenterpriseapi.auth.accounts import create_admin
from ddenterpriseapi.database import migration_scripts
from ddenterpriseapi.extensions import db, limiter
from tests.servers import loopback

ADMIN = ("admin", "correct horse battery")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any test that tries to reach beyond this machine."""
    loopback.install(monkeypatch.setattr)


@pytest.fixture
def make_app(tmp_path):
    """Build a console on a fresh database in its own instance folder."""
    apps = []

    def build(**config):
        settings = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "HTTP_TIMEOUT": 3}
        settings.update(config)
        app = create_app(settings)
        with app.app_context():
            db.create_all()
            limiter.reset()  # the rate limits count per test, not across the suite
            with db.engine.begin() as connection:  # as `db upgrade` leaves it, so the CLI accepts the database
                MigrationContext.configure(connection).stamp(migration_scripts(), "heads")
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(response) -> str:
    """The CSRF token a page embeds, as a browser would submit it."""
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def submit(client, path, data, **kwargs):
    """GET a page, then POST its form with the page's CSRF token, like a browser."""
    token = csrf_from(client.get(path))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


class AuthActions:
    """Create the administrator and log in through the real login form."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, username=ADMIN[0], password=ADMIN[1]):
        with self.app.app_context():
            create_admin(username, password)

    def login(self, username=ADMIN[0], password=ADMIN[1]):
        return submit(self.client, "/ddenterpriseapi/login", {"username": username, "password": password})


@pytest.fixture
def auth(app, client):
    actions = AuthActions(app, client)
    actions.create()
    return actions


CALLBACK = "http://localhost/ddenterpriseapi/v2/oauth/redirect"  # as the test client addresses the console
MAILBOX = ("reports@example.com", "mailbox password")
CLIENT = ("console-client", "console-client-secret-value")


def start_oauth_server(shape: str, **options):
    from tests.servers.oauth_server import OAuthTestServer

    server = OAuthTestServer(shape, **options).start()
    server.add_user(*MAILBOX)
    server.register_client(*CLIENT, [CALLBACK])
    return server


@pytest.fixture
def google_server():
    server = start_oauth_server("google")
    yield server
    server.stop()


@pytest.fixture
def microsoft_server():
    server = start_oauth_server("microsoft")
    yield server
    server.stop()


@pytest.fixture
def mail(admin_client):
    return MailActions(admin_client)


class OAuthActions:
    """Drive the OAuth parameters page and the provider's pages the way an administrator would."""

    PAGE = "/ddenterpriseapi/configuration/oauth"

    def __init__(self, client, server):
        self.client, self.server = client, server

    def save(self, provider="google", button="save", **fields):
        data = {"provider": provider, "client_id": CLIENT[0], "client_secret": CLIENT[1],
                "current_password": ADMIN[1], button: "1"}
        if provider == "microsoft":
            data["tenant"] = "contoso.onmicrosoft.com"
        data.update(fields)
        return submit(self.client, self.PAGE, {k: v for k, v in data.items() if v is not None})

    def authorize(self, provider="google", **fields) -> str:
        """Save and click Authorize; the provider URL the browser is sent to."""
        response = self.save(provider, button="authorize", **fields)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.headers["Location"]

    def consent(self, url: str, accept=True) -> str:
        """Sign in and answer the consent page; the console address the provider sends the browser back to."""
        return self.server.consent(url, *MAILBOX, accept=accept)

    def come_back(self, location: str):
        """The browser follows the provider's redirect to the console, then to the page it lands on."""
        assert location.startswith(CALLBACK), location
        response = self.client.get(location.removeprefix("http://localhost"))
        assert response.status_code == 302
        return self.client.get(response.headers["Location"])

    def post(self, path, **data):
        """Submit one of the page's other forms (CSRF token from the page); the page it lands on."""
        token = csrf_from(self.client.get(self.PAGE))
        response = self.client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self.client.get(response.headers["Location"])

    def connect(self, provider="google", **fields):
        return self.come_back(self.consent(self.authorize(provider, **fields)))


@pytest.fixture
def admin_client(oauth_app):
    client = oauth_app.test_client()
    actions = AuthActions(oauth_app, client)
    actions.create()
    actions.login()
    return client


@pytest.fixture
def google(admin_client, google_server):
    return OAuthActions(admin_client, google_server)


@pytest.fixture
def microsoft(admin_client, microsoft_server):
    return OAuthActions(admin_client, microsoft_server)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    from tests.servers.tls import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def make_smtp(pki):
    """Start test SMTP servers; they check XOAUTH2 bearer tokens with the given authorization server."""
    from tests.servers.smtp_server import SMTPTestServer

    servers = []

    def start(oauth=None, security="starttls", style="microsoft", passwords=None):
        server = SMTPTestServer(security=security, pki=pki, style=style, passwords=passwords,
                                check_token=oauth.check_access_token if oauth else None).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def oauth_app(make_app, request, pki):
    """A console whose providers point at the test authorization servers, trusting the test CA for SMTP."""
    overrides = {}
    for name in ("google_server", "microsoft_server"):
        if name in request.fixturenames:
            overrides[name.removesuffix("_server")] = request.getfixturevalue(name).provider_override()
    return make_app(OAUTH_PROVIDER_OVERRIDES=overrides, SMTP_CA_BUNDLE=pki.ca_cert_path, SMTP_TIMEOUT=3)


class MailActions:
    """Drive the email server page as an administrator."""

    PAGE = "/ddenterpriseapi/configuration/email-server"

    def __init__(self, client):
        self.client = client

    def save(self, smtp=None, button="save", **fields):
        data = {"security": "starttls", "authentication": "oauth", button: "1"}
        if smtp is not None:
            data.update(host=smtp.host, port=str(smtp.port), security=smtp.security)
        data.update(fields)
        return submit(self.client, self.PAGE, {k: v for k, v in data.items() if v is not None})

    def send_test(self, smtp=None, recipient="boss@example.org", **fields) -> str:
        """Save, click Send test email; the page text that comes back."""
        import html

        response = self.save(smtp, button="send_test", test_recipient=recipient, **fields)
        assert response.status_code == 200, response.status_code
        return html.unescape(response.get_data(as_text=True))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole run (Playwright allows one per process)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
