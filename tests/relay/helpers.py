"""The relay in a thread of the test process, the clients that talk to it, and the messages they send."""

import asyncio
import smtplib
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ddenterpriseapi.relay.backend import Backend
from ddenterpriseapi.relay.server import RelayServer
from ddenterpriseapi.relay.settings import RelaySettings
from tests.deploy.helpers import free_port
from tests.helpers import InThread

HOST = "127.0.0.1"
PROGRAM = "jenkins"  # the user name clients give: informational, the key is the password
# A message as a reporting server writes it: folded and unusual headers in an order of its own, 8-bit text, a line
# starting with a dot (dot-stuffed on the wire), trailing spaces; CRLF throughout.
REPORT = (
    "Received: from build.corp.example by build.corp.example; Tue, 1 Dec 2026 06:00:00 +0000\r\n"
    "X-Report-Id: nightly-42\r\n"
    "From: \"Jenkins CI\" <jenkins@corp.example>\r\n"
    "To: boss@example.org,\r\n"
    "\tteam@example.org\r\n"
    "Subject: =?utf-8?q?Nightly_build_=E2=80=93_OK?=\r\n"
    "Date: Tue, 01 Dec 2026 06:00:01 +0000\r\n"
    "Message-ID: <nightly-42@build.corp.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Build réussi.  \r\n"
    ".hidden line that starts with a dot\r\n"
    "From here on, the log.\r\n"
).encode()
RECIPIENTS = ["boss@example.org", "team@example.org"]


def bare_message(subject: str = "Disk space", sender: str = "cron@corp.example", to: str = "boss@example.org",
                 body: str = "/var is 91% full.") -> bytes:
    """A message as cron or a script writes it: no Message-ID, no Date."""
    return f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


class RunningRelay(InThread):
    """The relay on a free port of 127.0.0.1, in a thread, with the app's Runtime and application contexts."""

    def __init__(self, app, config: dict, **fields):
        super().__init__()
        self.port = free_port()
        settings = RelaySettings.from_config({**app.config, "RELAY_BIND": f"{HOST}:{self.port}", **config})
        self.settings = replace(settings, auth_failure_delay=0.05, shutdown_grace=2, **fields)
        self.server = RelayServer(self.settings, Backend(app.extensions["dde_runtime"], app.app_context))
        self.ready = threading.Event()

    def serve(self) -> None:
        self.server.run(self.stop, on_ready=lambda where: self.ready.set())

    def start(self) -> "RunningRelay":
        """Start, and return once it listens."""
        super().start()
        while not self.ready.wait(0.05):
            assert self.thread.is_alive(), f"the relay did not start: {self.failure!r}"
        return self

    def port_of(self, implicit_tls: bool) -> int:
        """The port of the STARTTLS or of the implicit-TLS listener."""
        return next(listener.port for listener in self.settings.listeners if listener.implicit_tls == implicit_tls)


def client_context(pki) -> ssl.SSLContext:
    """A client's TLS settings, trusting the test CA only."""
    return ssl.create_default_context(cafile=pki.ca_cert_path)


def connect(relay: RunningRelay, pki=None, login: tuple[str, str] | None = None) -> smtplib.SMTP:
    """An smtplib client of the relay, after STARTTLS when given the PKI, and logged in when given credentials."""
    client = smtplib.SMTP(HOST, relay.port, timeout=10)
    client.ehlo()
    if pki is not None:
        client.starttls(context=client_context(pki))
        client.ehlo()
    if login is not None:
        client.login(*login)
    return client


def queued_id(client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes, **options) -> int:
    """Send one message; the outbox id the relay's "250 2.0.0 Queued as <id>" names."""
    client.mail(sender, options.get("mail_options", []))
    for recipient in recipients:
        code, reply = client.rcpt(recipient)
        assert code == 250, reply
    code, reply = client.data(data)
    assert code == 250 and reply.startswith(b"2.0.0 Queued as "), (code, reply)
    return int(reply.rsplit(b" ", 1)[1])


def run_coroutine(coroutine):
    """Run a coroutine to its end in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread, where asyncio.run() refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
