"""Benchmark: the SMTP relay and its worker against email-oauth2-proxy (PyPI emailproxy), both between the same SMTP
clients and the same provider demanding XOAUTH2.

Run from the repository root (`make bench-relay` installs emailproxy first, from the bench extra):

    .venv/bin/python bench/relay.py                        # 500 messages, 8 clients, plus the outage runs
    .venv/bin/python bench/relay.py --messages 40 --outage 0
    .venv/bin/python bench/relay.py --connection client    # one connection per client instead of per message

Everything runs on 127.0.0.1: the test OAuth authorization server (Authlib, Microsoft-shaped by default), the test
SMTP server (aiosmtpd, STARTTLS with a throwaway CA, XOAUTH2 tokens checked with the OAuth server) standing in for
the provider, and on each side the real processes:

- Ours: `flask --app ddenterpriseapi relay` and `flask --app ddenterpriseapi worker`, as the Procfile starts them,
  with SQLite in a temporary instance folder (`flask db upgrade` and `flask create-admin` first). Set up through
  the pages under real gunicorn, stopped before measuring: OAuth authorized through the real flow, the email server
  saved, an API key created (for the API and the relay). Clients AUTH on the relay with the key as password; it
  answers "250 Queued" once the message is committed to the outbox, and the worker delivers it. Settings changed
  from the defaults: the provider unpaced (its sending_rate override set to none, as tests.helpers.RunningWorker
  runs it: the presets pace to 30 or 60 messages a minute), and OUTBOX_RETRY_FIRST 5 s / OUTBOX_RETRY_MAX 10 s
  (defaults 60 s / 3600 s) so that the outage run's deferred messages are retried within seconds, not minutes.
  Everything else is the default: WORKER_POLL_INTERVAL 0.25 s, OUTBOX_BATCH_SIZE 50, OUTBOX_CONNECTION_MAX_MESSAGES 500.
- Theirs: `python -m emailproxy --no-gui --local-server-auth`, its SMTP listener in front of the same test SMTP
  server (server_starttls, trusting the test CA through SSL_CERT_FILE) and its account section pointing at the same
  test OAuth server (its own client id, PKCE on). Its first authorization is done before any timing: a client
  signs in through it, the proxy prints the provider's URL and waits on its redirect URI; the bench signs in and
  consents at the test provider as the mailbox and follows the redirect to the proxy, as a browser would. Clients
  AUTH with the mailbox's address and a local password (the proxy encrypts its cached tokens with it); the proxy
  swaps that for XOAUTH2 and passes the conversation through, so its "250" is the provider's.

Method. 8 client threads (--clients) with smtplib send 500 messages (--messages), client i those numbered i, i+8,
..., each a 2 KB report with a numbered X-Bench-Id header. Each message on its own connection (connect, EHLO, AUTH
PLAIN, MAIL, RCPT, DATA, QUIT), as a cron job or a reporting script hands over one report per run (--connection
client: one connection per client, kept for all its messages). The same clients, messages and settings for both
sides. A client never retries: an error is counted and it goes on with its next message. Untimed warm-up first:
one message per client through each side, delivered.

1. Delivered rate. All clients start together; timed from then until the SMTP server holds every message of the
   run: messages delivered / seconds. Target: our rate / emailproxy's rate >= 1.5. Also printed: each message's
   time to its "250" (from connecting, or from MAIL with a kept connection): p50 and p99; the clients' own rate
   (until the last 250); the CPU time of our relay + worker and of emailproxy per message.
2. Outage. A second run on each side, paced: the messages spread evenly over 90 s (--outage-span), and the SMTP
   server stops listening (open connections dropped, new ones refused) for 30 s in the middle (--outage), then
   listens again. Then the bench waits until every message answered "250" has arrived, or 120 s more at most
   (--settle). Printed for each side: messages answered 250, delivered (once each), lost (answered 250 but never
   delivered), delivered though the client saw an error, duplicates, and the errors the clients saw, by reply or
   exception. --outage 0 skips this part.

Exit status: 0 when the ratio target is met (with every message of both timed runs answered 250 and delivered once),
1 when it is missed, 2 when setup fails or the run overruns --timeout.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _common as common  # noqa: E402
from tests.deploy import helpers as deploy  # noqa: E402
from tests.deploy.helpers import FlaskProcess  # noqa: E402
from tests.helpers import MAILBOX, start_oauth_server  # noqa: E402
from tests.servers.process import started, stop_process  # noqa: E402
from tests.servers.smtp_server import SMTPTestServer  # noqa: E402
from tests.servers.tls import make_pki  # noqa: E402

RATIO_TARGET = 1.5
HOST = "127.0.0.1"
SENDER = MAILBOX[0]
RECIPIENT = "boss@example.org"
PROGRAM = "nightly-report"  # the user name our clients give the relay (the API key is the password)
PROXY_PASSWORD = "bench local password"  # what clients give emailproxy: it encrypts its cached tokens with it
PROXY_CLIENT = ("emailproxy-client", "emailproxy-client-secret-value")
SCOPES = {"microsoft": "https://outlook.office.com/SMTP.Send offline_access", "google": "https://mail.google.com/"}
RETRY = {"DDE_OUTBOX_RETRY_FIRST": "5", "DDE_OUTBOX_RETRY_MAX": "10"}
SMTP_TIMEOUT = 60
START_TIMEOUT = 30
BODY = "Daily report\r\n\r\n" + "".join(f"line {i}: all systems nominal\r\n" for i in range(60))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per run (default 500)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent SMTP clients (default 8)")
    parser.add_argument(
        "--connection",
        choices=("message", "client"),
        default="message",
        help="one connection per message, as cron jobs open them (default), or one per client, kept",
    )
    parser.add_argument(
        "--shape",
        choices=("microsoft", "google"),
        default="microsoft",
        help="provider shape of the test authorization server (default microsoft)",
    )
    parser.add_argument("--outage", type=float, default=30, help="seconds the provider is down (default 30; 0: skip)")
    parser.add_argument(
        "--outage-span", type=float, default=90, help="seconds the outage run spreads its messages over (default 90)"
    )
    parser.add_argument(
        "--settle", type=float, default=120, help="seconds to wait for late deliveries after a run (default 120)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="abort the whole run after this many seconds (default 1800)"
    )
    args = parser.parse_args(argv)
    if min(args.messages, args.clients) < 1 or args.outage < 0 or args.settle <= 0:
        parser.error("--messages and --clients must be positive, --outage not negative, --settle positive")
    if args.outage and args.outage_span <= args.outage:
        parser.error("--outage-span must be longer than --outage")
    return args


def message(tag: str, number: int) -> bytes:
    """A report as a script writes it, numbered in a header that survives the trip."""
    return (
        f"From: Reports <{SENDER}>\r\nTo: {RECIPIENT}\r\nSubject: Daily report {tag}-{number}\r\n"
        f"X-Bench-Id: {tag}-{number}\r\n\r\n{BODY}"
    ).encode()


# -- the clients ---------------------------------------------------------------------------------------------------


@dataclass
class Side:
    """Where the clients connect and how they sign in; the processes whose CPU time is theirs."""

    name: str
    port: int
    username: str
    password: str
    pids: list[int] = field(default_factory=list)


@dataclass
class Load:
    """What the clients do in one run; interval: seconds between two messages' scheduled starts (0: at once)."""

    messages: int
    clients: int
    per_message: bool
    interval: float = 0.0
    outage: float = 0.0  # seconds the provider is down, from the middle of the schedule
    settle: float = 120.0


@dataclass
class Outcome:
    number: int
    started: float
    answered: float
    error: str | None  # None: answered 250


class Refused(smtplib.SMTPException):
    """A reply other than the one expected to MAIL, RCPT or DATA."""

    def __init__(self, step: str, code: int, reply: bytes):
        super().__init__(f"{step} {code} {short(reply)}")


def short(text) -> str:
    """A reply or an error on one short line: what tells errors apart, without ids."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return re.sub(r"\s+", " ", text).strip()[:60]


def error_key(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__} {error.smtp_code} {short(error.smtp_error)}"
    return f"{type(error).__name__}: {short(error)}"


def connect(side: Side) -> smtplib.SMTP:
    client = smtplib.SMTP(HOST, side.port, local_hostname="bench.localhost", timeout=SMTP_TIMEOUT)
    try:
        client.login(side.username, side.password)
    except BaseException:
        client.close()
        raise
    return client


def hang_up(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def transact(client: smtplib.SMTP, data: bytes) -> None:
    """MAIL, RCPT, DATA; Refused unless each is accepted."""
    for step, call, expected in (
        ("MAIL", lambda: client.mail(SENDER), (250,)),
        ("RCPT", lambda: client.rcpt(RECIPIENT), (250, 251)),
        ("DATA", lambda: client.data(data), (250,)),
    ):
        code, reply = call()
        if code not in expected:
            raise Refused(step, code, reply)


class Clients:
    """The clients of one run: client i sends the messages numbered i, i + clients, ..., each at its scheduled time
    (t0 + number x interval) or as soon after as it can; one connection per message or one per client."""

    def __init__(self, side: Side, tag: str, load: Load):
        self.side, self.tag, self.load = side, tag, load
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.t0 = 0.0
        self.begun = threading.Event()
        self.start_line = threading.Barrier(load.clients, action=self.begin)

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.begun.set()

    def run(self, timeout: float) -> list[Outcome]:
        threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(self.load.clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError(f"the {self.side.name} clients did not finish within {timeout:g} s")
        return sorted(self.outcomes, key=lambda outcome: outcome.number)

    def client(self, index: int) -> None:
        self.start_line.wait()
        connection = None
        try:
            for number in range(index, self.load.messages, self.load.clients):
                time.sleep(max(self.t0 + number * self.load.interval - time.monotonic(), 0))
                connection = self.send(connection, number)
        finally:
            hang_up(connection)

    def send(self, connection: smtplib.SMTP | None, number: int) -> smtplib.SMTP | None:
        """One message, on the connection kept or a new one; the connection to keep (None after an error)."""
        begun, error = time.monotonic(), None
        try:
            connection = connection or connect(self.side)
            transact(connection, message(self.tag, number))
        except (smtplib.SMTPException, OSError) as failure:
            error = error_key(failure)
        answered = time.monotonic()
        with self.lock:
            self.outcomes.append(Outcome(number, begun, answered, error))
        if error is None and not self.load.per_message:
            return connection  # kept for the client's next message
        if error is None:
            hang_up(connection)  # QUIT, as a one-shot sender does
        elif connection is not None:
            connection.close()  # after an error the next message starts on a new connection
        return None


# -- one run -------------------------------------------------------------------------------------------------------


class Arrivals:
    """The run's messages as the SMTP server receives them, read as they come: number -> when it first arrived, and
    how many arrived again."""

    BENCH_ID = re.compile(rb"^X-Bench-Id: (\S+)-(\d+)\r?$", re.M)

    def __init__(self, smtp: SMTPTestServer, tag: str):
        self.smtp, self.tag, self.seen = smtp, tag.encode(), len(smtp.messages)
        self.first: dict[int, float] = {}
        self.again = 0

    def update(self) -> dict[int, float]:
        end = min(len(self.smtp.messages), len(self.smtp.accepted_times))
        for index in range(self.seen, end):
            found = self.BENCH_ID.search(self.smtp.messages[index].data)
            if found is None or found[1] != self.tag:
                continue
            if int(found[2]) in self.first:
                self.again += 1
            else:
                self.first[int(found[2])] = self.smtp.accepted_times[index]
        self.seen = end
        return self.first


class Outage:
    """The provider down for `seconds` from `offset` after the clients start: stop_listening(), then resume()."""

    def __init__(self, smtp: SMTPTestServer, clients: Clients, offset: float, seconds: float):
        self.smtp, self.clients, self.offset, self.seconds = smtp, clients, offset, seconds
        self.window: tuple[float, float] | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        self.clients.begun.wait()
        time.sleep(max(self.clients.t0 + self.offset - time.monotonic(), 0))
        began = time.monotonic()
        self.smtp.stop_listening()
        try:
            time.sleep(self.seconds)
        finally:
            self.smtp.resume()
        self.window = (began - self.clients.t0, time.monotonic() - self.clients.t0)


@dataclass
class Run:
    side: str
    load: Load
    t0: float
    outcomes: list[Outcome]
    delivered: dict[int, float]
    duplicates: int
    cpu: float
    outage: tuple[float, float] | None = None

    @property
    def accepted(self) -> set[int]:
        return {outcome.number for outcome in self.outcomes if outcome.error is None}

    @property
    def errors(self) -> Counter:
        return Counter(outcome.error for outcome in self.outcomes if outcome.error is not None)

    @property
    def lost(self) -> set[int]:
        return self.accepted - set(self.delivered)

    @property
    def delivery_seconds(self) -> float:
        return max(self.delivered.values(), default=self.t0) - self.t0

    @property
    def rate(self) -> float:
        return len(self.delivered) / self.delivery_seconds if self.delivered else 0.0

    @property
    def clients_seconds(self) -> float:
        return max(outcome.answered for outcome in self.outcomes) - self.t0

    def latency(self, percentile: int) -> float:
        """Seconds to the 250, at this percentile of the messages answered 250."""
        times = sorted(outcome.answered - outcome.started for outcome in self.outcomes if outcome.error is None)
        if len(times) < 2:
            return times[0] if times else float("nan")
        return statistics.quantiles(times, n=100, method="inclusive")[percentile - 1]

    @property
    def clean(self) -> bool:
        """Every message answered 250 and delivered once."""
        return len(self.accepted) == self.load.messages == len(self.delivered) and not self.duplicates


def wait_for_deliveries(arrivals: Arrivals, accepted: set[int], deadline: float) -> None:
    """Until the SMTP server holds every message answered 250 (or the deadline), then a moment for stragglers."""
    while time.monotonic() < deadline and not accepted <= set(arrivals.update()):
        time.sleep(0.05)
    time.sleep(0.5)
    arrivals.update()


def measure(side: Side, smtp: SMTPTestServer, tag: str, load: Load) -> Run:
    """One run of the clients through one side, from the moment they start until the run's messages arrived."""
    arrivals, cpu = Arrivals(smtp, tag), common.process_cpu_seconds(side.pids)
    clients = Clients(side, tag, load)
    outage = None
    if load.outage:
        outage = Outage(smtp, clients, (load.interval * load.messages - load.outage) / 2, load.outage)
        outage.thread.start()
    outcomes = clients.run(timeout=load.interval * load.messages + 600)
    if outage is not None:
        outage.thread.join(load.outage + 60)
    accepted = {outcome.number for outcome in outcomes if outcome.error is None}
    wait_for_deliveries(arrivals, accepted, time.monotonic() + load.settle)
    return Run(
        side.name,
        load,
        clients.t0,
        outcomes,
        dict(arrivals.first),
        arrivals.again,
        common.process_cpu_seconds(side.pids) - cpu,
        outage.window if outage else None,
    )


def warm_up(side: Side, smtp: SMTPTestServer, load: Load) -> None:
    """Untimed: one message per client, delivered (first connections, imports, the first token use)."""
    run = measure(side, smtp, f"warm-{side.name}", Load(load.clients, load.clients, load.per_message, settle=60))
    if not run.clean:
        raise RuntimeError(f"warming up {side.name} failed: {dict(run.errors)}, {len(run.delivered)} delivered")


# -- our side: the relay and the worker ----------------------------------------------------------------------------


class Console:
    """The console set up through its pages, then its relay and its worker as production runs them."""

    def __init__(self, tmp: Path, oauth, smtp: SMTPTestServer, pki, shape: str):
        self.port = deploy.free_port()
        self.instance = tmp / "instance"
        overrides = {shape: {**oauth.provider_override(), "sending_rate": None}}  # unpaced
        self.env = deploy.console_env(
            self.instance,
            overrides=overrides,
            ca_bundle=pki.ca_cert_path,
            DDE_RELAY_BIND=f"{HOST}:{self.port}",
            **RETRY,
        )
        self.tmp, self.oauth, self.smtp, self.shape = tmp, oauth, smtp, shape
        self.processes: list[FlaskProcess] = []
        self.key = ""

    def start(self) -> Console:
        deploy.prepare_console(self.env)
        console = common.start_gunicorn(self.env, self.tmp / "gunicorn.log")
        try:
            self.key = common.configure_through_pages(console, self.oauth, self.smtp, self.shape)
        finally:
            common.stop_started(console)
        for command, ready in (("relay", "Relay listening on"), ("worker", "delivering the outbox")):
            process = FlaskProcess(command, ready, self.env, self.tmp / f"{command}.log")
            common.RUNNING.append(process)
            self.processes.append(process.start())
        return self

    def side(self) -> Side:
        return Side("relay", self.port, PROGRAM, self.key, [process.process.pid for process in self.processes])

    def stop(self) -> None:
        for process in self.processes:
            common.stop_started(process)


# -- their side: email-oauth2-proxy --------------------------------------------------------------------------------


class EmailProxy:
    """`python -m emailproxy --no-gui --local-server-auth` with its configuration file in `folder`."""

    VISIT = re.compile(r"Please visit the following URL to authenticate account \S+: (\S+)")

    def __init__(self, folder: Path, oauth, smtp: SMTPTestServer, pki, shape: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.port, redirect_port = deploy.free_ports(2)
        self.redirect_uri = f"http://{HOST}:{redirect_port}/"
        oauth.register_client(*PROXY_CLIENT, [self.redirect_uri])
        self.config = folder / "emailproxy.config"
        self.config.write_text(self.configuration(oauth, smtp, shape))
        self.log_path = folder / "emailproxy.out"
        self.command = [
            sys.executable,
            "-m",
            "emailproxy",
            "--no-gui",
            "--local-server-auth",
            "--config-file",
            str(self.config),
            "--log-file",
            str(folder / "emailproxy.log"),
        ]
        self.env = {**os.environ, "SSL_CERT_FILE": pki.ca_cert_path, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None
        self._log = None

    def configuration(self, oauth, smtp: SMTPTestServer, shape: str) -> str:
        """One SMTP listener in front of the test SMTP server, one account at the test OAuth server."""
        endpoints = {
            name: oauth.provider_override()[name].replace("{tenant}", deploy.TENANT)
            for name in ("authorization_url", "token_url")
        }
        return (
            f"[SMTP-{self.port}]\nlocal_address = {HOST}\nserver_address = {smtp.host}\nserver_port = {smtp.port}\n"
            f"server_starttls = True\n\n"
            f"[{MAILBOX[0]}]\npermission_url = {endpoints['authorization_url']}\n"
            f"token_url = {endpoints['token_url']}\noauth2_scope = {SCOPES[shape]}\n"
            f"redirect_uri = {self.redirect_uri}\nclient_id = {PROXY_CLIENT[0]}\nclient_secret = {PROXY_CLIENT[1]}\n"
            f"use_pkce = True\n"
        )

    def start(self) -> EmailProxy:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.config.parent,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return started(self, lambda: self.wait_for_log("listening for authentication requests"))

    def wait_for_log(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + START_TIMEOUT
        while (found := re.search(pattern, self.log_text())) is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"emailproxy: no {pattern!r} in its output:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
        return found

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def authorize(self, oauth, side: Side) -> None:
        """The first sign-in through the proxy asks for authorization: sign in and consent at the test provider as
        the mailbox, then follow its redirect to the proxy's receiver, as a browser would."""
        first = Clients(side, "authorize", Load(1, 1, True))
        thread = threading.Thread(target=first.run, args=(SMTP_TIMEOUT,), daemon=True)
        thread.start()
        location = oauth.consent(self.wait_for_log(self.VISIT.pattern).group(1), *MAILBOX)
        with requests.Session() as browser:
            browser.trust_env = False
            browser.get(location, timeout=10).raise_for_status()
        thread.join(SMTP_TIMEOUT)
        if thread.is_alive() or [outcome.error for outcome in first.outcomes] != [None]:
            raise RuntimeError(f"signing in through emailproxy failed: {first.outcomes}\n{self.log_text()[-3000:]}")

    def side(self) -> Side:
        return Side("emailproxy", self.port, MAILBOX[0], PROXY_PASSWORD, [self.process.pid])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, ((signal.SIGTERM, 10),), kill_group=True)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in common.RUNNING:
            common.RUNNING.remove(self)


# -- the report ----------------------------------------------------------------------------------------------------


def errors_text(run: Run) -> str:
    return "; ".join(f"{count} x {key}" for key, count in run.errors.most_common()) or "none"


def print_run(run: Run, label: str) -> None:
    n = run.load.messages
    print(
        f"{label}: {len(run.accepted)} of {n} answered 250 in {run.clients_seconds:.2f} s "
        f"({len(run.accepted) / run.clients_seconds:.1f}/s); {len(run.delivered)} delivered, the last after "
        f"{run.delivery_seconds:.2f} s: {run.rate:.1f} msg/s delivered"
    )
    print(
        f"  time to 250: p50 {1000 * run.latency(50):.1f} ms, p99 {1000 * run.latency(99):.1f} ms; CPU of the side's "
        f"processes {run.cpu:.2f} s ({1000 * run.cpu / n:.1f} ms/message); client errors: {errors_text(run)}"
    )


def print_outage_table(runs: list[Run]) -> None:
    print(
        f"{'':12} {'250':>5} {'delivered':>9} {'lost':>5} {'delivered after an error':>24} {'duplicates':>10}  "
        "errors seen by clients"
    )
    for run in runs:
        unanswered = len(set(run.delivered) - run.accepted)
        print(
            f"{run.side:12} {len(run.accepted):5} {len(run.delivered):9} {len(run.lost):5} {unanswered:24} "
            f"{run.duplicates:10}  {errors_text(run)}"
        )
        start, end = run.outage or (float("nan"), float("nan"))
        print(f"{'':12} provider down from {start:.1f} s to {end:.1f} s; last delivery at {run.delivery_seconds:.1f} s")


def timed_part(sides: list[Side], smtp, load: Load) -> common.Verdict:
    connection = "one connection per message" if load.per_message else "one connection per client"
    print(f"\n== 1. delivered rate: {load.messages} messages from {load.clients} clients, {connection}")
    print(f"load average at the start: {common.load()}")
    runs = [measure(side, smtp, f"timed-{side.name}", load) for side in sides]
    ours, theirs = runs
    for run in runs:
        print_run(run, run.side)
    ratio = ours.rate / theirs.rate if theirs.rate else float("inf")
    problems = [
        f"{run.side}: {len(run.accepted)} answered 250, {len(run.delivered)} delivered, {run.duplicates} "
        f"duplicates, errors: {errors_text(run)}"
        for run in runs
        if not run.clean
    ]
    ok = ratio >= RATIO_TARGET and not problems
    print(f"ratio relay/emailproxy, delivered rate: {ratio:.2f} (target >= {RATIO_TARGET})  {'PASS' if ok else 'FAIL'}")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"load average at the end: {common.load()}")
    line = (
        f"relay {ours.rate:.1f} msg/s vs emailproxy {theirs.rate:.1f} msg/s delivered: ratio {ratio:.2f} "
        f"(>= {RATIO_TARGET}); time to 250 p50/p99: relay {1000 * ours.latency(50):.1f}/"
        f"{1000 * ours.latency(99):.1f} ms, emailproxy {1000 * theirs.latency(50):.1f}/"
        f"{1000 * theirs.latency(99):.1f} ms"
    )
    return common.Verdict("rate", line, ok)


def outage_part(sides: list[Side], smtp, load: Load) -> list[Run]:
    print(
        f"\n== 2. outage: {load.messages} messages spread over {load.interval * load.messages:g} s, the provider "
        f"down for {load.outage:g} s in the middle"
    )
    print(f"load average at the start: {common.load()}")
    runs = [measure(side, smtp, f"outage-{side.name}", load) for side in sides]
    print_outage_table(runs)
    print(f"load average at the end: {common.load()}")
    return runs


# -- running -------------------------------------------------------------------------------------------------------


def start_sides(tmp: Path, oauth, smtp, pki, args) -> tuple[Console, EmailProxy]:
    console = Console(tmp / "console", oauth, smtp, pki, args.shape)
    proxy = EmailProxy(tmp / "emailproxy", oauth, smtp, pki, args.shape)
    common.RUNNING.append(proxy)
    console.start()
    proxy.start()
    proxy.authorize(oauth, proxy.side())
    print(
        f"relay on {HOST}:{console.port}, worker running, SQLite on {common.filesystem_of(tmp)}; emailproxy on "
        f"{HOST}:{proxy.port}; provider (test SMTP server) on {smtp.host}:{smtp.port}, {args.shape}-shaped OAuth"
    )
    print(
        "our settings changed from the defaults: provider unpaced (sending_rate none), OUTBOX_RETRY_FIRST 5 s, "
        "OUTBOX_RETRY_MAX 10 s"
    )
    return console, proxy


def measure_all(args, smtp, sides: list[Side]) -> list[common.Verdict]:
    load = Load(args.messages, args.clients, args.connection == "message", settle=args.settle)
    for side in sides:
        warm_up(side, smtp, load)
    verdicts = [timed_part(sides, smtp, load)]
    if args.outage:
        paced = Load(
            args.messages, args.clients, load.per_message, args.outage_span / args.messages, args.outage, args.settle
        )
        for run in outage_part(sides, smtp, paced):
            verdicts.append(
                common.Verdict(
                    "outage",
                    f"{run.side}: {len(run.accepted)} answered 250, {len(run.delivered)} "
                    f"delivered, {len(run.lost)} lost; client errors: {errors_text(run)}",
                    None,
                )
            )  # reported, no target
    return verdicts


def run(args) -> int:
    started_at = time.monotonic()
    oauth = smtp = console = proxy = None
    with tempfile.TemporaryDirectory(prefix="dde-bench-relay-") as tmp:
        tmp = Path(tmp)
        try:
            pki = make_pki(tmp / "pki")
            oauth = start_oauth_server(args.shape)
            smtp = SMTPTestServer(
                security="starttls", pki=pki, style=args.shape, check_token=oauth.check_access_token
            ).start()
            console, proxy = start_sides(tmp, oauth, smtp, pki, args)
            verdicts = measure_all(args, smtp, [console.side(), proxy.side()])
        except Exception as error:  # a broken setup is not a benchmark result
            traceback.print_exc()
            print(f"benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
            for log in sorted(tmp.glob("*/*.log")) + sorted(tmp.glob("*/*.out")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
            return 2
        finally:
            for part in (proxy, console, smtp, oauth):
                if part is not None:
                    part.stop()
    return common.summary(verdicts, started_at)


def main(argv=None) -> int:
    return common.bounded_main(parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
