"""The console as deployed: real gunicorn (2 workers) behind real nginx over https, configured as docs/deploy.md says.

One stack per module: the Google-shaped test authorization server, a test SMTP server that checks XOAUTH2
tokens with it, gunicorn started the production way (`flask db upgrade`, `create-admin`, then
`gunicorn -c gunicorn.conf.py wsgi:app`), and nginx running the documented site configuration with only the
ports, log paths and certificate changed.
"""

from __future__ import annotations

import html
import socket
import ssl
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import CLIENT, MAILBOX, start_oauth_server
from tests.deploy.conftest import (
    OTHER_PREFIX,
    PREFIX,
    Browser,
    GunicornConsole,
    ProxyPorts,
    console_env,
    free_port,
    nginx_config_from_docs,
    parse_page,
    prepare_console,
    set_cookie_headers,
)
from tests.servers.nginx import NginxTestServer
from tests.servers.smtp_server import SMTPTestServer


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
        ports = ProxyPorts(https=free_port(), http=free_port(), upstream=console.port)
        nginx_dir = directory / "nginx"
        nginx_dir.mkdir()
        nginx = NginxTestServer(nginx_dir, nginx_config_from_docs(ports, proxy_pki, nginx_dir),
                                [ports.https, ports.http])
        cleanup.callback(nginx.stop)
        nginx.start()
        yield Stack(google, smtp, console, nginx, ports, proxy_pki.ca_cert_path, nginx_dir)


def connect(stack: Stack, browser: Browser, prefix: str = PREFIX) -> str:
    """Save the OAuth parameters, register the redirect URI shown, Authorize, consent, come back.

    Returns the address the provider sent the browser back to (with the code and the state).
    """
    page_url = f"{prefix}/configuration/oauth"
    form = {"provider": "google", "client_id": CLIENT[0], "client_secret": CLIENT[1]}
    saved = browser.submit(page_url, {**form, "save": "1"})
    assert saved.status_code == 302 and saved.headers["Location"] == page_url, saved.text[:1000]
    page = browser.follow(saved)
    assert "OAuth parameters saved." in page.text
    redirect_uri = parse_page(page.text).inputs["redirect_uri"]
    assert redirect_uri == f"{stack.origin}{prefix}/v2/oauth/redirect"  # the public https address
    stack.google.register_client(*CLIENT, [redirect_uri])

    authorize = browser.submit(page_url, {**form, "authorize": "1"})
    assert authorize.status_code == 302, authorize.text[:1000]
    provider_url = authorize.headers["Location"]
    assert provider_url.startswith(stack.google.base_url + "/o/oauth2/v2/auth?")
    assert parse_qs(urlsplit(provider_url).query)["redirect_uri"] == [redirect_uri]

    back = stack.google.consent(provider_url, *MAILBOX)
    assert back.startswith(redirect_uri + "?"), back
    callback = browser.get(back)
    assert callback.status_code == 302 and callback.headers["Location"] == page_url
    landed = browser.follow(callback)
    assert f"Authorized as {MAILBOX[0]}" in html.unescape(landed.text), landed.text
    return back


def send_test_email(stack: Stack, browser: Browser, prefix: str = PREFIX) -> str:
    before = len(stack.smtp.messages)
    answer = browser.submit(f"{prefix}/configuration/email-server", {
        "host": stack.smtp.host, "port": str(stack.smtp.port), "security": "starttls",
        "authentication": "oauth", "test_recipient": "boss@example.org", "send_test": "1"})
    assert answer.status_code == 200, answer.status_code
    text = html.unescape(answer.text)
    assert "Test email accepted by the server for boss@example.org" in text, text
    received = stack.smtp.wait_for_messages(before + 1)[-1]
    assert received.auth_mechanism == "XOAUTH2" and received.auth_login == MAILBOX[0]
    assert received.rcpt_tos == ["boss@example.org"]
    return text


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
        connect(stack, browser)
        send_test_email(stack, browser)


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

        oauth = browser.get(f"{OTHER_PREFIX}/configuration/oauth")
        assert parse_page(oauth.text).inputs["redirect_uri"] == f"{stack.origin}{OTHER_PREFIX}/v2/oauth/redirect"
        connect(stack, browser, OTHER_PREFIX)  # the whole flow works under the other prefix too

        logout = browser.submit(f"{OTHER_PREFIX}/", {}, action=f"{OTHER_PREFIX}/logout")
        assert logout.status_code == 302 and logout.headers["Location"] == f"{OTHER_PREFIX}/login"


@pytest.mark.xfail(strict=True, reason="templates/_language.html posts the language switch to "
                                       "{{ request.path }}, which drops the prefix (/login instead of "
                                       "/mail-console/login)")
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
        back = connect(stack, browser)
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
