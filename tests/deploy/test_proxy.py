"""The console as deployed: real gunicorn (2 workers) behind real nginx over https, configured as docs/deploy.md says.

One stack per module: the Google-shaped test authorization server, a test SMTP server that checks XOAUTH2
tokens with it, gunicorn started the production way (`flask db upgrade`, `create-admin`, then
`gunicorn -c gunicorn.conf.py wsgi:app`), and nginx running the documented site configuration with only the
ports, log paths and certificate changed.
"""

from __future__ import annotations

import socket
import ssl
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.deploy.helpers import (
    OTHER_PREFIX,
    PREFIX,
    Browser,
    GunicornConsole,
    ProxyPorts,
    authorize,
    console_env,
    free_ports,
    nginx_config_from_docs,
    parse_page,
    prepare_console,
    send_test_email,
    set_cookie_headers,
)
from tests.helpers import ADMIN, CLIENT, MAILBOX, start_oauth_server
from tests.servers.nginx import NginxTestServer
from tests.servers.smtp_server import SMTPTestServer

pytestmark = pytest.mark.nginx


@dataclass
class Stack:
    google: object
    smtp: SMTPTestServer
    console: GunicornConsole
    nginx: NginxTestServer
    ports: ProxyPorts
    ca: str
    nginx_dir: object

    @property
    def origin(self) -> str:
        """The console's public origin, as the browser sees it (the certificate names localhost)."""
        return f"https://localhost:{self.ports.https}"

    def browser(self) -> Browser:
        return Browser(self.origin, verify=self.ca)

    def nginx_access_log(self) -> str:
        path = self.nginx_dir / "ddenterpriseapi.access.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pki, proxy_pki):
    directory = tmp_path_factory.mktemp("proxy")
    with ExitStack() as cleanup:
        google = start_oauth_server("google")
        cleanup.callback(google.stop)
        smtp = SMTPTestServer(security="starttls", pki=pki, style="google",
                              check_token=google.check_access_token).start()
        cleanup.callback(smtp.stop)
        env = console_env(directory / "instance", overrides={"google": google.provider_override()},
                          ca_bundle=pki.ca_cert_path)
        prepare_console(env)
        console = GunicornConsole(env, directory / "gunicorn.log")
        cleanup.callback(console.stop)
        console.start()
        https, http = free_ports(2)
        ports = ProxyPorts(https=https, http=http, upstream=console.port)
        nginx_dir = directory / "nginx"
        nginx_dir.mkdir()
        nginx = NginxTestServer(nginx_dir, nginx_config_from_docs(ports, proxy_pki, nginx_dir),
                                [ports.https, ports.http])
        cleanup.callback(nginx.stop)
        nginx.start()
        yield Stack(google, smtp, console, nginx, ports, proxy_pki.ca_cert_path, nginx_dir)


def test_oauth_and_test_email_through_nginx(stack):
    with stack.browser() as browser:
        login = browser.login()
        assert login.headers["Location"] == f"{PREFIX}/"
        (cookie,) = [c for c in set_cookie_headers(login) if c.startswith("ddenterpriseapi_session=")]
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert "secure" in attributes and "httponly" in attributes, cookie
        assert attributes["samesite"].lower() == "samesite=lax", cookie

        dashboard = browser.get(f"{PREFIX}/")
        assert dashboard.status_code == 200
        authorize(browser, stack.google)
        send_test_email(browser, stack.smtp)


def test_console_under_another_prefix(stack):
    with stack.browser() as browser:
        first = browser.get(f"{OTHER_PREFIX}/")
        assert first.status_code == 302
        assert first.headers["Location"].startswith(f"{OTHER_PREFIX}/login?next="), first.headers["Location"]
        assert parse_qs(urlsplit(first.headers["Location"]).query)["next"] == [f"{OTHER_PREFIX}/"]

        login_page = browser.get(first.headers["Location"])
        assert login_page.status_code == 200
        page = parse_page(login_page.text)
        stylesheet = [value for tag, _, value in page.urls if tag == "link"]
        assert stylesheet and all(url.startswith(f"{OTHER_PREFIX}/static/") for url in stylesheet)
        assert browser.get(stylesheet[0]).status_code == 200
        assert ("post", None) in page.forms  # the login form posts back to the page it is on

        logged_in = browser.submit(first.headers["Location"], {"username": "admin", "password": "x"})
        assert logged_in.status_code == 200 and "Wrong username or password" in logged_in.text
        logged_in = browser.login(OTHER_PREFIX)
        assert logged_in.headers["Location"] == f"{OTHER_PREFIX}/"
        dashboard = browser.get(f"{OTHER_PREFIX}/")
        assert dashboard.status_code == 200
        links = {value for tag, attribute, value in parse_page(dashboard.text).urls if tag == "a"}
        for endpoint in ("/configuration/oauth", "/configuration/email-server", "/configuration/api-keys"):
            assert f"{OTHER_PREFIX}{endpoint}" in links, links
        assert f'action="{OTHER_PREFIX}/logout"' in dashboard.text

        # Emptied, the redirect URI is the address the page is opened at, this prefix included (the helper checks
        # it), and the whole flow works there too.
        authorize(browser, stack.google, prefix=OTHER_PREFIX)

        logout = browser.submit(f"{OTHER_PREFIX}/", {}, action=f"{OTHER_PREFIX}/logout")
        assert logout.status_code == 302 and logout.headers["Location"] == f"{OTHER_PREFIX}/login"


def test_every_url_a_page_uses_keeps_the_prefix(stack):
    with stack.browser() as browser:
        browser.login(OTHER_PREFIX)
        for path in ("/login", "/", "/configuration/oauth", "/configuration/email-server", "/configuration/api-keys"):
            page = browser.get(OTHER_PREFIX + path)
            assert page.status_code in (200, 302)
            for tag, attribute, value in parse_page(page.text).urls:
                if value.startswith("/"):
                    assert value.startswith(f"{OTHER_PREFIX}/"), f"{path}: <{tag} {attribute}={value!r}>"


def test_logs_never_hold_the_oauth_code_state_or_client_secret(stack):
    with stack.browser() as browser:
        browser.login()
        back = authorize(browser, stack.google)
    answer = parse_qs(urlsplit(back).query)
    code, state = answer["code"][0], answer["state"][0]
    log = stack.console.wait_for_log(f"GET {PREFIX}/v2/oauth/redirect ")
    nginx_log = stack.nginx_access_log()
    assert f"GET {PREFIX}/v2/oauth/redirect " in nginx_log
    for name, secret in (("code", code), ("state", state), ("client secret", CLIENT[1])):
        assert secret not in log, f"the {name} is in gunicorn's log"
        assert secret not in nginx_log, f"the {name} is in nginx's access log"
    assert "code=" not in log and "state=" not in log


def test_security_headers_through_the_proxy(stack):
    with stack.browser() as browser:
        page = browser.get(f"{PREFIX}/login")
        assert page.status_code == 200
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["X-Frame-Options"] == "DENY"
        # A client's own X-Forwarded-Prefix is dropped by nginx: the links stay on the real prefix.
        spoofed = browser.get(f"{PREFIX}/login", headers={"X-Forwarded-Prefix": "/evil"})
        assert "/evil" not in spoofed.text and f"{PREFIX}/static/console.css" in spoofed.text
        root = browser.get("/")
        assert root.status_code == 302 and root.headers["Location"].endswith(f"{PREFIX}/")

    # Straight to gunicorn over plain http: no forwarded https, so no HSTS and no Secure cookie.
    with Browser(stack.console.url.removesuffix(PREFIX)) as direct:
        page = direct.get(f"{PREFIX}/login")
        assert page.status_code == 200 and "Strict-Transport-Security" not in page.headers
        assert "Content-Security-Policy" in page.headers


def test_plain_http_redirects_to_https(stack):
    with Browser(f"http://localhost:{stack.ports.http}") as browser:
        answer = browser.get(f"{PREFIX}/login?next=%2F")
        assert answer.status_code == 301
        assert answer.headers["Location"] == f"https://localhost{PREFIX}/login?next=%2F"


def test_request_larger_than_max_content_length_is_refused_by_nginx(stack):
    """client_max_body_size 30m matches MAX_CONTENT_LENGTH: nginx answers 413 from the headers alone."""
    context = ssl.create_default_context(cafile=stack.ca)
    with socket.create_connection(("127.0.0.1", stack.ports.https), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall((f"POST {PREFIX}/v2/mail HTTP/1.1\r\nHost: localhost:{stack.ports.https}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {30 * 1024 * 1024 + 1}\r\n"
                         "Connection: close\r\n\r\n").encode())
            status_line = tls.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"413", status_line


@pytest.mark.browser
def test_real_browser_journey_through_nginx(stack, browser):
    """Chromium through nginx over https: log in, authorize, send a test email; what an administrator does."""
    from playwright.sync_api import expect

    # The test CA is not in Chromium's store; the certificate itself is checked by the requests tests.
    context = browser.new_context(ignore_https_errors=True, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{stack.origin}{PREFIX}/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Log in").click()
    assert posted.value.status == 302, f"logging in answered {posted.value.status}"
    expect(page).to_have_url(f"{stack.origin}{PREFIX}/")
    (cookie,) = [c for c in context.cookies() if c["name"] == "ddenterpriseapi_session"]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("link", name="OAuth", exact=True).click()
    page.get_by_label("Client ID").fill(CLIENT[0])
    page.get_by_label("Client Secret").fill(CLIENT[1])
    page.get_by_label("Your password").fill(ADMIN[1])
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("OAuth parameters saved.")).to_be_visible()
    redirect_uri = page.get_by_label("Authorized redirect URI").input_value()
    assert redirect_uri == f"{stack.origin}{PREFIX}/v2/oauth/redirect"
    stack.google.register_client(*CLIENT, [redirect_uri])
    page.get_by_role("button", name="Authorize").click()
    page.get_by_label("Email").fill(MAILBOX[0])
    page.get_by_label("Password").fill(MAILBOX[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text(f"Authorized as {MAILBOX[0]}").first).to_be_visible()

    before = len(stack.smtp.messages)
    page.get_by_role("link", name="Email server", exact=True).click()
    page.get_by_label("SMTP host").fill(stack.smtp.host)
    page.get_by_label("Port", exact=True).fill(str(stack.smtp.port))
    page.get_by_label("Test recipient").fill("boss@example.org")
    page.get_by_role("button", name="Send test email").click()
    expect(page.get_by_text("Test email accepted by the server for boss@example.org")).to_be_visible()
    assert stack.smtp.wait_for_messages(before + 1)[-1].auth_mechanism == "XOAUTH2"
    context.close()
