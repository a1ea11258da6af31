"""Deployment helpers: real gunicorn (as `make run` and the systemd unit start it), real nginx with the
configuration from docs/deploy.md, a throwaway PostgreSQL cluster, and a browser-like HTTP client.

Everything listens on 127.0.0.1 and is stopped at teardown (SIGTERM/SIGQUIT, then a bounded wait).
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.helpers import ADMIN, CLIENT, CSRF_FIELD, MAILBOX
from tests.servers.process import started, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
PREFIX = "/ddenterpriseapi"
OTHER_PREFIX = "/mail-console"
START_TIMEOUT = 30.0  # seconds for gunicorn to answer /healthz
STOP_TIMEOUT = 40.0  # gunicorn's graceful_timeout is 30 s
HTTP_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """Distinct free ports of 127.0.0.1 (all held open while choosing, so none is picked twice)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


# -- gunicorn ---------------------------------------------------------------------------------

def console_env(instance: Path, *, overrides: dict, ca_bundle: str, database_url: str | None = None,
                **extra: str) -> dict:
    """The environment of one console: this process's, minus any DDE_* of the caller, plus the test settings."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DDE_", "FLASK_")) and key != "WEB_CONCURRENCY"}
    env.update(
        DDE_INSTANCE_PATH=str(instance),
        DDE_TRUSTED_PROXIES="1",
        DDE_OAUTH_PROVIDER_OVERRIDES=json.dumps(overrides),
        DDE_SMTP_CA_BUNDLE=ca_bundle,
        DDE_HTTP_TIMEOUT="5",
        DDE_SMTP_TIMEOUT="10",
        WEB_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DDE_SQLALCHEMY_DATABASE_URI"] = database_url
    env.update(extra)
    return env


def flask_command(env: dict, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """`flask --app ddenterpriseapi ARGS` from the repository root, as production runs it; must succeed."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "ddenterpriseapi", *args], cwd=REPO_ROOT,
                            env=env, input=input, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def prepare_console(env: dict) -> None:
    """What an operator does before the first start: apply the migrations, create the administrator."""
    flask_command(env, "db", "upgrade")
    flask_command(env, "create-admin", ADMIN[0], "--password-stdin", input=ADMIN[1] + "\n")


class GunicornConsole:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free port of 127.0.0.1, output captured to a file."""

    def __init__(self, env: dict, log_path: Path):
        self.port = free_port()
        # gunicorn >= 25 opens a control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn): one per console.
        runtime = log_path.parent / f"run-{self.port}"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.env = {**env, "DDE_BIND": f"127.0.0.1:{self.port}", "XDG_RUNTIME_DIR": str(runtime)}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def origin(self) -> str:
        """gunicorn itself, as a client on this machine reaches it (no proxy)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + PREFIX

    def start(self) -> GunicornConsole:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO_ROOT,
            env=self.env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        return started(self, self._wait_healthy)

    def stop(self) -> None:
        """SIGTERM (graceful), bounded wait; SIGKILL to its own process group if it hangs."""
        if self.process is not None:
            stop_process(self.process, ((signal.SIGTERM, STOP_TIMEOUT),), kill_group=True)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> str:
        """The log once it contains needle (gunicorn writes the access line after the response)."""
        deadline = time.monotonic() + timeout
        while needle not in (text := self.log_text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not in gunicorn's log:\n{text}")
            time.sleep(0.05)
        return text

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with requests.get(f"{self.url}/healthz", timeout=2, headers={"Connection": "close"}) as answer:
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text[:200]}"
            except requests.RequestException as error:
                last = error
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /healthz with 200 within {START_TIMEOUT} s ({last}):\n"
                           f"{self.log_text()}")


# -- the delivery worker and the relay ---------------------------------------------------------

FAST_WORKER = {"DDE_OUTBOX_RETRY_FIRST": "0.5", "DDE_OUTBOX_RETRY_MAX": "2", "DDE_WORKER_POLL_INTERVAL": "0.1",
               "DDE_OUTBOX_LEASE": "5"}


class FlaskProcess:
    """A long-running `flask --app ddenterpriseapi COMMAND` as production runs it, output captured to a file; started
    once its log says `ready`."""

    def __init__(self, command: str, ready: str, env: dict, log_path: Path):
        self.command, self.ready = command, ready
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> FlaskProcess:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "ddenterpriseapi", self.command], cwd=REPO_ROOT, env=self.env,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        return started(self, self._wait_started)

    def _wait_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.ready not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"flask {self.command} did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything, as a crash or the OOM killer would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM, bounded wait; the exit code."""
        code = None
        if self.process is not None:
            stop_process(self.process, ((signal.SIGTERM, STOP_TIMEOUT),), kill_group=True)
            code, self.process = self.process.returncode, None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def worker_process(env: dict, log_path: Path) -> FlaskProcess:
    """`flask --app ddenterpriseapi worker`, retrying within seconds."""
    return FlaskProcess("worker", "delivering the outbox", {**env, **FAST_WORKER}, log_path)


def relay_process(env: dict, log_path: Path) -> FlaskProcess:
    """`flask --app ddenterpriseapi relay`, on the RELAY_* settings of env."""
    return FlaskProcess("relay", "Relay listening on", env, log_path)


# -- nginx with the documented configuration ----------------------------------------------------

def documented_nginx_blocks() -> list[str]:
    """The ```nginx blocks of docs/deploy.md, in order."""
    return re.findall(r"^```nginx\n(.*?)^```", DEPLOY_DOC.read_text(), flags=re.S | re.M)


def documented_site() -> tuple[str, str]:
    """(the complete site configuration, the location block publishing the console under another prefix)."""
    blocks = documented_nginx_blocks()
    sites = [block for block in blocks if "server {" in block and "ssl_certificate" in block]
    prefixes = [block for block in blocks if block.lstrip().startswith(f"location {OTHER_PREFIX}/ {{")]
    assert len(sites) == 1 and len(prefixes) == 1, "docs/deploy.md must show one site and one prefix location"
    return sites[0], prefixes[0]


def substitute(text: str, replacements: list[tuple[str, str]]) -> str:
    """Apply regex replacements, each of which must match: a docs change that breaks one fails loudly."""
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        assert count, f"docs/deploy.md's nginx configuration no longer contains {pattern!r}"
    return text


@dataclass
class ProxyPorts:
    https: int
    http: int
    upstream: int


def nginx_config_from_docs(ports: ProxyPorts, pki, log_dir: Path) -> str:
    """The documented configuration, with only the ports, the log paths and the certificate changed.

    The prefix location goes into the https server, just before the console's own location, as the docs say.
    """
    site, prefix_location = documented_site()
    site = site.replace("    location /ddenterpriseapi/ {",
                        _indent(prefix_location, 4) + "\n    location /ddenterpriseapi/ {", 1)
    return substitute(site, [
        (r"^(\s*server) 127\.0\.0\.1:8080;", rf"\1 127.0.0.1:{ports.upstream};"),
        (r"^\s*listen \[::\]:\d+.*\n", ""),  # loopback IPv4 only
        (r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{ports.http};"),
        (r"^(\s*)listen 443 ssl;", rf"\1listen 127.0.0.1:{ports.https} ssl;"),
        (r"server_name mail\.example\.com;", "server_name localhost;"),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {pki.cert_path};"),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {pki.key_path};"),
        (r"/var/log/nginx/", f"{log_dir}/"),
    ])


def _indent(block: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line.strip() else "" for line in block.rstrip().splitlines())


# -- a browser-like client ------------------------------------------------------------------------

class PageParser(HTMLParser):
    """Every URL a page makes the browser use (href, src, form action), and the inputs by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.inputs: dict[str, str] = {}
        self.forms: list[tuple[str, str | None]] = []  # (method, action): None posts to the page itself

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("href", "src", "action"):
            if attributes.get(name) is not None:
                self.urls.append((tag, name, attributes[name]))
        if tag == "form":
            self.forms.append(((attributes.get("method") or "get").lower(), attributes.get("action")))
        if tag == "input" and attributes.get("id"):
            self.inputs[attributes["id"]] = attributes.get("value") or ""


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def set_cookie_headers(response: requests.Response) -> list[str]:
    """Every Set-Cookie header of the response, unmerged."""
    return response.raw.headers.getlist("Set-Cookie")


class Browser:
    """A requests.Session used like a browser: CSRF tokens from the pages, the same-origin Referer on posts.

    The Referer is the page the form is on, as a browser sends it under `Referrer-Policy: same-origin`
    (Flask-WTF insists on it over https); test_real_browser_journey_through_nginx checks what Chromium does
    with the policy the console really sends. Redirects are not followed automatically, so tests see each
    Location; follow() does it like a browser.
    """

    def __init__(self, origin: str, verify: str | bool = True):
        self.origin = origin.rstrip("/")
        self.verify = verify
        self.http = requests.Session()
        # No REQUESTS_CA_BUNDLE, proxy or netrc from the environment: they would override verify.
        self.http.trust_env = False

    def at(self, origin: str) -> Browser:
        """The same browser (same cookies) on another origin: another instance of the console."""
        other = Browser(origin, self.verify)
        other.http.close()
        other.http = self.http
        return other

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def absolute(self, url: str) -> str:
        return urljoin(self.origin + "/", url)

    def get(self, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("verify", self.verify)
        return self.http.get(self.absolute(url), allow_redirects=False, **kwargs)

    def post(self, url: str, data: dict, referer: str | None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if referer:
            headers["Referer"] = referer
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("verify", self.verify)
        return self.http.post(self.absolute(url), data=data, headers=headers, allow_redirects=False, **kwargs)

    def follow(self, response: requests.Response, limit: int = 5) -> requests.Response:
        """Follow the redirects a browser would follow (GET), staying on the console."""
        for _ in range(limit):
            if not response.is_redirect:
                return response
            response = self.get(urljoin(response.url, response.headers["Location"]))
        raise AssertionError(f"more than {limit} redirects, last {response.url}")

    def submit(self, url: str, data: dict, action: str | None = None) -> requests.Response:
        """GET the page, then POST its form with the page's CSRF token and the page as Referer."""
        page = self.get(url)
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"), page.text[:500])
        target = urljoin(page.url, action) if action else page.url
        return self.post(target, {**data, "csrf_token": csrf_token(page.text)}, referer=page.url)

    def login(self, prefix: str = PREFIX) -> requests.Response:
        """Log in through the login form; the response to the POST (a redirect)."""
        response = self.submit(f"{prefix}/login", {"username": ADMIN[0], "password": ADMIN[1]})
        assert response.status_code == 302, response.text[:1000]
        return response


# -- what an administrator does -------------------------------------------------------------------

TENANT = "contoso.onmicrosoft.com"


def authorize(browser: Browser, oauth_server, *, provider: str = "google", prefix: str = PREFIX,
              callback_on: Browser | None = None, redirect_uri: str = "") -> str:
    """Save the OAuth parameters, register the redirect URI the page shows, Authorize, consent, come back.

    callback_on: the instance the provider's redirect lands on (another one behind a load balancer).
    redirect_uri: typed into its field; empty (the default), it is the address the page is opened at.
    Returns the address the provider sent the browser back to, with its code and state.
    """
    page_url = f"{prefix}/configuration/oauth"
    form = {"provider": provider, "client_id": CLIENT[0], "client_secret": CLIENT[1], "current_password": ADMIN[1],
            "redirect_uri": redirect_uri}
    if provider == "microsoft":
        form["tenant"] = TENANT
    saved = browser.submit(page_url, {**form, "save": "1"})
    assert saved.status_code == 302 and saved.headers["Location"] == page_url, saved.text[:1000]
    page = browser.follow(saved)
    assert "OAuth parameters saved." in page.text
    redirect_uri = parse_page(page.text).inputs["redirect_uri"]
    assert redirect_uri == f"{browser.origin}{prefix}/v2/oauth/redirect", redirect_uri  # the console's public address
    oauth_server.register_client(*CLIENT, [redirect_uri])

    answer = browser.submit(page_url, {**form, "authorize": "1"})
    assert answer.status_code == 302, answer.text[:1000]
    provider_url = answer.headers["Location"]
    assert provider_url.startswith(oauth_server.base_url + "/"), provider_url
    assert parse_qs(urlsplit(provider_url).query)["redirect_uri"] == [redirect_uri]

    back = oauth_server.consent(provider_url, *MAILBOX)
    assert back.startswith(redirect_uri + "?"), back
    landing = callback_on or browser
    callback = landing.get(path_of(back))
    assert callback.status_code == 302 and callback.headers["Location"] == page_url, callback.text[:1000]
    page = landing.follow(callback)
    assert f"Authorized as {MAILBOX[0]}" in html.unescape(page.text), page.text
    return back


def save_email_server(browser: Browser, smtp, prefix: str = PREFIX, **fields) -> requests.Response:
    """Save the test SMTP server with OAuth authentication; the response to the POST."""
    data = {"host": smtp.host, "port": str(smtp.port), "security": smtp.security, "authentication": "oauth",
            **fields}
    return browser.submit(f"{prefix}/configuration/email-server", data)


SMTP_LOGIN = ("relay@example.com", "relay password")  # the test SMTP server's password mailbox


def set_up(env: dict, start_console, smtp) -> tuple[str, str]:
    """A console sending through the test server with a password; its API address and a key."""
    prepare_console(env)
    console = start_console(env)
    with Browser(console.origin) as browser:
        browser.login()
        saved = save_email_server(browser, smtp, authentication="password", username=SMTP_LOGIN[0],
                                  password=SMTP_LOGIN[1], sender_address="reports@example.com", save="1")
        assert saved.status_code == 302, saved.text[:2000]
        return console.url, create_api_key(browser)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def send_test_email(browser: Browser, smtp, prefix: str = PREFIX) -> None:
    """Click Send test email; the SMTP server receives it, authenticated with XOAUTH2 as the mailbox."""
    before = len(smtp.messages)
    answer = save_email_server(browser, smtp, prefix, test_recipient="boss@example.org", send_test="1")
    assert answer.status_code == 200, answer.status_code
    text = html.unescape(answer.text)
    assert "Test email accepted by the server for boss@example.org" in text, text
    received = smtp.wait_for_messages(before + 1)[-1]
    assert received.auth_mechanism == "XOAUTH2" and received.auth_login == MAILBOX[0]
    assert received.rcpt_tos == ["boss@example.org"]


def create_api_key(browser: Browser, name: str = "reporting-server") -> str:
    """Create an API key on the API keys page; the key it shows once."""
    answer = browser.submit(f"{PREFIX}/configuration/api-keys", {"name": name, "submit": "Create key"})
    assert answer.status_code == 200, answer.status_code
    key = parse_page(answer.text).inputs.get("new-key")
    assert key, answer.text[:2000]
    return key


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
