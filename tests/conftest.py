"""Fixtures: a fresh console per test, its client, the test servers, and the actions of a logged-in administrator."""

import os

import pytest

from ddenterpriseapi import create_app
from ddenterpriseapi.providers import PRESETS
from tests.helpers import (
    CLIENT,
    MAILBOX,
    AuthActions,
    MailActions,
    OAuthActions,
    RunningWorker,
    create_api_key,
    dispose,
    prepare,
    save_oauth_settings,
    service_account_sign_in,
    start_oauth_server,
)
from tests.servers import loopback

CHROMIUM = "/usr/bin/chromium"
CLOSED_API_URL = "https://127.0.0.1:1"  # nothing listens there
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
        apps.append(prepare(create_app(settings)))
        return apps[-1]

    yield build
    dispose(apps)


@pytest.fixture
def make_env_app(tmp_path, monkeypatch):
    """Build a console as the flask command does, from DDE_* variables: the test's, none of the shell's."""
    apps = []

    def build(**variables):
        for name in [name for name in os.environ if name.startswith("DDE_")]:
            monkeypatch.delenv(name)
        variables = {"DDE_TESTING": "true", "DDE_INSTANCE_PATH": str(tmp_path / "instance"), **variables}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        apps.append(prepare(create_app()))
        return apps[-1]

    yield build
    dispose(apps)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(app, client):
    actions = AuthActions(app, client)
    actions.create()
    return actions


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
    from tests.servers.tls import DEFAULT_NAMES, make_pki

    # The presets' SMTP hosts too, for the README's picture of a test email sent to smtp.gmail.com (resolved to a
    # test server): a certificate only the tests' own CA vouches for.
    names = (*DEFAULT_NAMES, *(preset.smtp_host for preset in PRESETS.values() if preset.smtp_host))
    return make_pki(tmp_path_factory.mktemp("pki"), names)


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
def graph_api(microsoft_server, pki):
    """A Microsoft Graph stand-in, checking tokens with the Microsoft server."""
    from tests.servers.mail_apis import GraphTestServer

    with GraphTestServer(microsoft_server, pki) as server:
        yield server


@pytest.fixture
def gmail_api(google_server, pki):
    """A Gmail API stand-in, checking tokens with the Google server."""
    from tests.servers.mail_apis import GmailApiTestServer

    with GmailApiTestServer(google_server, pki) as server:
        yield server


@pytest.fixture
def sending(google, mail, make_smtp, admin_client):
    """Authorized with Google, the email server configured (sender name Reports), one API key: (smtp, key)."""
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp, sender_name="Reports")
    return smtp, create_api_key(admin_client)


@pytest.fixture
def worker(oauth_app):
    """A delivery worker running for the test (retries within a second, unpaced)."""
    running = RunningWorker(oauth_app).start()
    yield running
    running.halt()


@pytest.fixture
def oauth_app(make_app, request, pki):
    """A console whose providers point at the test authorization servers, trusting the test CA for SMTP."""
    overrides = {}
    for name in ("google_server", "microsoft_server"):
        if name in request.fixturenames:
            overrides[name.removesuffix("_server")] = request.getfixturevalue(name).provider_override()
    for name, provider, path in (("graph_api", "microsoft", "/v1.0"), ("gmail_api", "google", "")):
        if name in request.fixturenames:  # the provider's HTTPS API: its stand-in
            overrides[provider]["api_url"] = request.getfixturevalue(name).base_url + path
        elif provider in overrides:  # else a closed loopback port: a probe of the API never leaves the machine
            overrides[provider]["api_url"] = CLOSED_API_URL
    return make_app(OAUTH_PROVIDER_OVERRIDES=overrides, SMTP_CA_BUNDLE=pki.ca_cert_path, SMTP_TIMEOUT=3)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole run (Playwright allows one per process)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


MICROSOFT_APPLICATION = dict(provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                             client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=MAILBOX[0])


@pytest.fixture
def microsoft_application(microsoft_server, oauth_app, mail, make_smtp):
    """Application sign-in with Microsoft by client secret, the application granted the mailbox in Exchange, the
    email server saved: the SMTP server, which checks tokens with the Microsoft server."""
    microsoft_server.grant_mailbox(CLIENT[0], MAILBOX[0])
    save_oauth_settings(oauth_app, **MICROSOFT_APPLICATION)
    smtp = make_smtp(microsoft_server)
    mail.save(smtp)
    return smtp


@pytest.fixture
def google_service_account(google_server, oauth_app, mail, make_smtp):
    """Service account sign-in with Google: a key file whose token_uri is the Google server's, domain-wide delegation
    of https://mail.google.com/, the email server saved: (SMTP server, the key material)."""
    from tests.servers.app_credentials import service_account

    account = service_account(f"{google_server.base_url}/token")
    google_server.register_service_account(account.client_email, account.client_id, account.private_key_id,
                                           account.public_key_pem, "example.com")
    google_server.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    service_account_sign_in(oauth_app, account.key_file)
    smtp = make_smtp(google_server, style="google")
    mail.save(smtp)
    return smtp, account
