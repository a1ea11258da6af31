"""Benchmark: the outbox. Accepting messages through the API, draining them with one worker, and the token
refreshes of steady sending with two workers.

Run from the repository root:

    .venv/bin/python bench/outbox.py --scale 10          # all three parts; part 3 time-scaled (3 minutes)
    .venv/bin/python bench/outbox.py                     # part 3 for real: 30 minutes of steady sending
    .venv/bin/python bench/outbox.py --parts accept,drain
    .venv/bin/python bench/outbox.py --parts drain --profile

Everything runs on 127.0.0.1: the test OAuth authorization server (Authlib), the test SMTP server (aiosmtpd,
STARTTLS with a throwaway CA, XOAUTH2 tokens checked with the OAuth server) and the console.

1. Accept rate. The console under real gunicorn as `make run` starts it (gunicorn.conf.py: twice the processors in
   workers, 2 threads each; SQLite in a temporary instance folder, migrated and given its administrator with the
   flask commands). OAuth is authorized, the email server saved and an API key created through the pages. Then 8
   client threads (one keep-alive requests.Session each) POST one message per request to /v2/mail for a fixed time,
   in short phases (8 rounds of 2 s each way by default) interleaved with the same 8 clients calling GET /healthz on
   the same server. Between phases (untimed) the accepted messages are marked sent, as a worker keeping up would:
   /healthz reads the waiting messages, and a queue growing through the run would slow it down. Target: messages
   accepted per second >= 0.5 x healthz requests per second. Also printed: gunicorn's CPU per request (from /proc),
   and the CPU the clients in this process used.
2. Drain rate. The console built in this process (create_app), OAuth authorized through the real flow, 1,000
   messages queued through the accept service with no worker running; then ONE real Worker, in a thread, with the
   default OUTBOX_* settings (it claims 50 messages at a time and keeps one connection for up to 500, batch after
   batch) and the provider unpaced (as tests.helpers.RunningWorker runs it), timed from its start until the SMTP
   server holds all 1,000. The test SMTP server runs in a process of its own (bench/provider.py), as the provider is
   another machine. The limit beside it: plain smtplib sending the same 1,000 messages (same bytes) over one
   connection (STARTTLS and AUTH XOAUTH2 once, with a token fetched once). Three rounds, alternating which goes
   first. Target: worker rate >= 0.8 x smtplib rate. A drain claiming 1,000 at once (OUTBOX_BATCH_SIZE 1000) is
   printed for information.
3. Token economy. Two Worker threads (each with its own application context) and one message accepted every second
   for 30 minutes, with 5-minute access tokens. The console refreshes a token once it is within
   margin = min(ACCESS_TOKEN_MARGIN, lifetime / 2) of its expiry (oauth/tokens.py _usable), so every
   usable = lifetime - margin seconds: 150 s with the defaults (ACCESS_TOKEN_MARGIN 300 s is more than half of
   5 minutes). The token is made to look expired when the run starts, so the first message refreshes it at once;
   the expectation is floor(elapsed / usable) refreshes, plus that first one at most. Refresh-token grants are
   counted at the test OAuth server. --scale N divides every duration by N alike (token lifetime, margin, run
   length, message interval, worker poll interval): --scale 10 is 30 s tokens refreshed 15 s early, one message
   every 0.1 s, for 3 minutes, and expects the same count as the full run.

Exit status: 0 when every target of the parts run is met, 1 when one is missed, 2 when setup fails or the run
overruns --timeout.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import smtplib
import sqlite3
import ssl
import statistics
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench._common import (  # noqa: E402
    Verdict,
    bounded_main,
    children_of,
    configure_through_pages,
    filesystem_of,
    load,
    process_cpu_seconds,
    start_gunicorn,
    stop_started,
    summary,
)
from bench.provider import RemoteSMTPServer  # noqa: E402
from ddenterpriseapi import create_app  # noqa: E402
from ddenterpriseapi.extensions import current_runtime, db  # noqa: E402
from ddenterpriseapi.mail.message import Draft  # noqa: E402
from ddenterpriseapi.mail.smtp import xoauth2  # noqa: E402
from ddenterpriseapi.models import OAuthConnection, OutboxAttempt, OutboxMessage  # noqa: E402
from ddenterpriseapi.oauth.tokens import get_access_token  # noqa: E402
from ddenterpriseapi.outbox.accept import Submitter, accept  # noqa: E402
from ddenterpriseapi.outbox.policy import OutboxPolicy  # noqa: E402
from ddenterpriseapi.outbox.statuses import SENT  # noqa: E402
from tests.deploy import helpers as deploy  # noqa: E402
from tests.helpers import AuthActions, MailActions, OAuthActions, RunningWorker, start_oauth_server  # noqa: E402
from tests.servers.smtp_server import SMTPTestServer  # noqa: E402
from tests.servers.tls import make_pki  # noqa: E402

ACCEPT_TARGET = 0.5
DRAIN_TARGET = 0.8
RECIPIENT = "boss@example.org"
REPORT_TEXT = "Daily report\n\n" + "\n".join(f"line {i}: all systems nominal" for i in range(40)) + "\n"
PREFIX = "/ddenterpriseapi"
SUBMITTER = Submitter("api", "bench")
HTTP_TIMEOUT = 30
CLIENT_WARMUP = 3  # requests per client before each timed phase (connection opened, first hits of the code)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="accept,drain,tokens",
                        help="comma-separated parts to run: accept, drain, tokens (default all three)")
    parser.add_argument("--shape", choices=("google", "microsoft"), default="google",
                        help="provider shape of the test authorization server (default google)")
    group = parser.add_argument_group("1. accept rate")
    group.add_argument("--clients", type=int, default=8, help="concurrent API clients (default 8)")
    group.add_argument("--phase-seconds", type=float, default=2,
                       help="length of each timed phase (default 2)")
    group.add_argument("--rounds", type=int, default=8,
                       help="rounds of one mail phase and one healthz phase, alternating which goes first (default 8:"
                            " short phases spread machine noise evenly)")
    group = parser.add_argument_group("2. drain rate")
    group.add_argument("--messages", type=int, default=1000, help="messages per drain (default 1000)")
    group.add_argument("--drain-rounds", type=int, default=3,
                       help="rounds of one worker drain and one smtplib run, alternating which goes first (default 3)")
    group.add_argument("--large-batch", type=int, default=1000,
                       help="OUTBOX_BATCH_SIZE of the drain printed for information (default 1000; 0: skip it)")
    group.add_argument("--profile", action="store_true",
                       help="profile the worker thread during the first default drain and print the top functions")
    group = parser.add_argument_group("3. token economy")
    group.add_argument("--minutes", type=float, default=30, help="minutes of steady sending, unscaled (default 30)")
    group.add_argument("--token-lifetime", type=int, default=300,
                       help="access-token lifetime in seconds, unscaled (default 300)")
    group.add_argument("--margin", type=float, default=None,
                       help="ACCESS_TOKEN_MARGIN in seconds, unscaled (default: the console's default, 300)")
    group.add_argument("--interval", type=float, default=1.0,
                       help="seconds between two accepted messages, unscaled (default 1)")
    group.add_argument("--scale", type=float, default=1,
                       help="divide every duration of part 3 by this (default 1: real time; 10: 3 minutes)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="abort the whole run after this many seconds (default 600 + the length of part 3)")
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    if not args.parts or set(args.parts) - {"accept", "drain", "tokens"}:
        parser.error("--parts takes accept, drain and tokens, separated by commas")
    if min(args.clients, args.rounds, args.messages, args.drain_rounds) < 1 or args.phase_seconds <= 0:
        parser.error("--clients, --rounds, --messages, --drain-rounds and --phase-seconds must be positive")
    if args.scale <= 0 or args.minutes <= 0 or args.token_lifetime < 2 or args.interval <= 0:
        parser.error("--scale, --minutes, --interval must be positive and --token-lifetime at least 2")
    if args.token_lifetime / args.scale < 2:
        parser.error("--token-lifetime / --scale must be at least 2 seconds")
    if args.timeout is None:
        args.timeout = 600 + (args.minutes * 60 / args.scale + 120 if "tokens" in args.parts else 0)
    return args


def draft(number: int) -> Draft:
    return Draft(to=[RECIPIENT], subject=f"Report {number}", text=REPORT_TEXT)


# -- 1. accept rate ---------------------------------------------------------------------------------------

@dataclass
class Phase:
    kind: str  # "mail" or "healthz"
    ok: int
    errors: int
    seconds: float
    server_cpu: float  # gunicorn's CPU seconds during the phase
    client_cpu: float  # this process's CPU seconds during the phase
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def load_phase(kind: str, url: str, key: str, clients: int, seconds: float, gunicorn_pids: list[int],
               numbers: list[int]) -> Phase:
    """`clients` threads, each with its own keep-alive session, calling the endpoint for `seconds`."""
    headers = {"Authorization": f"Bearer {key}"}
    results = [[0, 0, None] for _ in range(clients)]
    lock = threading.Lock()
    clock = {}  # the start and deadline, set once every client is warmed up, before any is released

    def begin():
        clock["server_cpu"], clock["client_cpu"] = process_cpu_seconds(gunicorn_pids), time.process_time()
        clock["started"] = time.perf_counter()
        clock["deadline"] = clock["started"] + seconds

    start_line = threading.Barrier(clients, action=begin)

    def call(http: requests.Session) -> requests.Response:
        if kind == "healthz":
            return http.get(f"{url}/healthz", timeout=HTTP_TIMEOUT)
        with lock:
            numbers[0] += 1
            number = numbers[0]
        return http.post(f"{url}/v2/mail", headers=headers, timeout=HTTP_TIMEOUT,
                         json={"to": [RECIPIENT], "subject": f"Report {number}", "text": REPORT_TEXT})

    def client(index: int) -> None:
        expected = 200 if kind == "healthz" else 202
        with requests.Session() as http:
            http.trust_env = False
            for _ in range(CLIENT_WARMUP):
                if call(http).status_code == expected:
                    with lock:
                        numbers[1] += kind == "mail"
            start_line.wait()
            mine, deadline = results[index], clock["deadline"]
            while time.perf_counter() < deadline:
                try:
                    answer = call(http)
                except requests.RequestException as error:
                    mine[1] += 1
                    mine[2] = mine[2] or f"{type(error).__name__}: {error}"
                    continue
                if answer.status_code == expected:
                    mine[0] += 1
                else:
                    mine[1] += 1
                    mine[2] = mine[2] or f"HTTP {answer.status_code}: {answer.text[:200]}"

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CLIENT_WARMUP * HTTP_TIMEOUT + seconds + HTTP_TIMEOUT + 5)
    if any(thread.is_alive() for thread in threads) or "started" not in clock:
        raise RuntimeError(f"a {kind} client did not finish")
    elapsed = time.perf_counter() - clock["started"]  # the last answers arrive a little after the deadline
    server_cpu = process_cpu_seconds(gunicorn_pids) - clock["server_cpu"]
    client_cpu = time.process_time() - clock["client_cpu"]
    errors = [r[2] for r in results if r[2]]
    return Phase(kind, sum(r[0] for r in results), sum(r[1] for r in results), elapsed, server_cpu, client_cpu,
                 errors[0] if errors else None)


def mark_sent(instance: Path) -> None:
    """Untimed, between phases: the accepted messages marked sent, as a worker keeping up would leave them. /healthz
    reads the waiting messages (the oldest one's age), so a queue growing through the run would slow it down round
    after round and flatter the ratio."""
    with sqlite3.connect(instance / "ddenterpriseapi.db", timeout=30) as database:
        database.execute("UPDATE outbox_message SET status = 'sent', body = NULL WHERE status = 'queued'")


def outbox_count(instance: Path) -> int:
    with sqlite3.connect(instance / "ddenterpriseapi.db") as database:
        return database.execute("SELECT count(*) FROM outbox_message").fetchone()[0]


def accept_part(args, tmp: Path, pki) -> Verdict:
    print(f"\n== 1. accept rate: {args.clients} API clients against GET /healthz, gunicorn as `make run` starts it")
    print(f"load average at the start: {load()}")
    oauth = smtp = console = None
    try:
        oauth = start_oauth_server(args.shape)
        smtp = SMTPTestServer(security="starttls", pki=pki, style=args.shape,
                              check_token=oauth.check_access_token).start()
        instance = tmp / "accept-instance"
        env = deploy.console_env(instance, overrides={args.shape: oauth.provider_override()},
                                 ca_bundle=pki.ca_cert_path)
        del env["WEB_CONCURRENCY"]  # the tests' fixed two; gunicorn.conf.py's own choice, as `make run` has it
        deploy.prepare_console(env)
        console = start_gunicorn(env, tmp / "gunicorn.log")
        key = configure_through_pages(console, oauth, smtp, args.shape)
        workers = children_of(console.process.pid)
        pids = [console.process.pid, *workers]
        print(f"gunicorn: {len(workers)} workers x {env.get('DDE_THREADS', '2')} threads, SQLite on "
              f"{filesystem_of(instance)} ({instance})")

        numbers = [0, 0]  # message numbers handed out, warm-up messages accepted
        phases: list[Phase] = []
        for round_index in range(args.rounds):
            order = ("healthz", "mail") if round_index % 2 == 0 else ("mail", "healthz")
            for kind in order:
                phases.append(load_phase(kind, console.url, key, args.clients, args.phase_seconds, pids, numbers))
                mark_sent(instance)
        stored = outbox_count(instance)
    finally:
        if console is not None:
            stop_started(console)
        if smtp is not None:
            smtp.stop()
        if oauth is not None:
            oauth.stop()

    def total(kind):
        chosen = [p for p in phases if p.kind == kind]
        return (sum(p.ok for p in chosen), sum(p.errors for p in chosen), sum(p.seconds for p in chosen),
                sum(p.server_cpu for p in chosen), sum(p.client_cpu for p in chosen), chosen)

    mail_ok, mail_errors, mail_seconds, mail_server_cpu, mail_client_cpu, mail_phases = total("mail")
    health_ok, health_errors, health_seconds, health_server_cpu, health_client_cpu, health_phases = total("healthz")
    if any(p.ok == 0 for p in phases):
        raise RuntimeError(f"a phase got no answer at all: {[(p.kind, p.ok, p.errors, p.first_error) for p in phases]}")
    mail_rate, health_rate = mail_ok / mail_seconds, health_ok / health_seconds
    ratio = mail_rate / health_rate
    round_ratios = [m.rate / h.rate for m, h in zip(mail_phases, health_phases)]
    for index, (m, h) in enumerate(zip(mail_phases, health_phases)):
        print(f"round {index + 1}: mail {m.rate:7.1f} msg/s, healthz {h.rate:7.1f} req/s, ratio {m.rate / h.rate:.3f}")
    print(f"POST /v2/mail:  {mail_rate:7.1f} messages accepted/s ({mail_ok} in {mail_seconds:.1f} s, "
          f"{mail_errors} errors; {1000 * mail_server_cpu / max(mail_ok, 1):.2f} ms of gunicorn CPU per message)")
    print(f"GET /healthz:   {health_rate:7.1f} requests/s ({health_ok} in {health_seconds:.1f} s, "
          f"{health_errors} errors; {1000 * health_server_cpu / max(health_ok, 1):.2f} ms of gunicorn CPU per request)")
    print(f"CPU busy (of {os.cpu_count()}): mail phases gunicorn {mail_server_cpu / mail_seconds:.2f} + clients "
          f"{mail_client_cpu / mail_seconds:.2f}; healthz phases gunicorn {health_server_cpu / health_seconds:.2f} "
          f"+ clients {health_client_cpu / health_seconds:.2f}")
    expected_rows = numbers[1] + mail_ok
    problems = []
    if mail_errors or health_errors:
        errors = [p.first_error for p in phases if p.first_error]
        problems.append(f"{mail_errors + health_errors} failed requests (first: {errors[0]})")
    if stored < expected_rows:
        problems.append(f"{stored} messages in the outbox, {expected_rows} accepted")
    ok = ratio >= ACCEPT_TARGET and not problems
    print(f"ratio accepted/healthz: {ratio:.3f} (target >= {ACCEPT_TARGET})  {'PASS' if ok else 'FAIL'}")
    print(f"noise check: per-round ratios {min(round_ratios):.3f} to {max(round_ratios):.3f}, median "
          f"{statistics.median(round_ratios):.3f}")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"load average at the end: {load()}")
    return Verdict("accept", f"{mail_rate:.1f} msg/s accepted vs {health_rate:.1f} healthz/s: ratio {ratio:.3f} "
                             f"(>= {ACCEPT_TARGET})", ok)


# -- the in-process console (parts 2 and 3) ----------------------------------------------------------------

def build_console(instance: Path, oauth, smtp, pki, shape: str, **settings):
    """The console, OAuth authorized through the real flow (login, OAuth page, consent, callback) and the test
    SMTP server saved on the email server page."""
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "OAUTH_PROVIDER_OVERRIDES": {shape: oauth.provider_override()},
        "SMTP_CA_BUNDLE": pki.ca_cert_path,
        "SMTP_TIMEOUT": 10,
        "HTTP_TIMEOUT": 5,
        **settings,
    })
    with app.app_context():
        db.create_all()
    client = app.test_client()
    auth = AuthActions(app, client)
    auth.create()
    if auth.login().status_code != 302:
        raise RuntimeError("logging in failed")
    if OAuthActions(client, oauth).connect(shape).status_code != 200:
        raise RuntimeError("the OAuth callback failed")
    saved = MailActions(client).save(smtp)
    if saved.status_code != 302:
        raise RuntimeError(f"saving the email server failed (HTTP {saved.status_code})")
    with app.app_context():
        connection = db.session.get(OAuthConnection, 1)
        if connection is None or not connection.refresh_token or not connection.access_token:
            raise RuntimeError("authorizing did not store a connection with tokens")
    return app


def queue(app, count: int, first: int) -> list[tuple[bytes, str, list[str]]]:
    """Accept `count` messages through the accept service (100 per commit); the queued envelopes, as stored."""
    with app.app_context():
        runtime = current_runtime()
        for start in range(0, count, 100):
            accept(runtime, [draft(first + n) for n in range(start, min(start + 100, count))], SUBMITTER)
            db.session.commit()
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "queued")
                                  .order_by(OutboxMessage.id)).all()
        return [(row.body, row.sender, list(row.recipients)) for row in rows]


def sent_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(OutboxMessage.status == SENT))


class ProfiledWorker(RunningWorker):
    """RunningWorker with cProfile on in its thread (cProfile only sees the thread that enables it)."""

    def __init__(self, *args, profiler: cProfile.Profile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiler = profiler

    def run(self) -> None:
        if self.profiler is None:
            return super().run()
        self.profiler.enable()
        try:
            super().run()
        finally:
            self.profiler.disable()


def drain_with_worker(app, smtp, policy: OutboxPolicy, count: int, name: str, profiler=None) -> tuple[float, int]:
    """Start one worker on the queued messages; seconds until the SMTP server holds them all, connections used."""
    received, connections = smtp.received, smtp.connections
    worker = ProfiledWorker(app, policy, paced=False, name=name, profiler=profiler)
    started = time.perf_counter()
    worker.start()
    try:
        smtp.wait_for_messages(received + count, timeout=300)
        elapsed = time.perf_counter() - started
    finally:
        worker.halt()
    return elapsed, smtp.connections - connections


def drain_with_smtplib(smtp, pki, token, envelopes) -> tuple[float, int]:
    """The same messages over one connection: STARTTLS, AUTH XOAUTH2 once, then MAIL/RCPT/DATA each."""
    received = smtp.received
    context = ssl.create_default_context(cafile=pki.ca_cert_path)
    raw = xoauth2(token.mailbox, token.value)
    started = time.perf_counter()
    client = smtplib.SMTP(smtp.host, smtp.port, "bench.localhost", timeout=10)
    client.ehlo()
    client.starttls(context=context)
    client.ehlo()
    client.auth("XOAUTH2", lambda challenge=None: raw if challenge is None else "", initial_response_ok=True)
    for data, sender, recipients in envelopes:
        client.sendmail(sender, recipients, data)
    client.quit()
    smtp.wait_for_messages(received + len(envelopes), timeout=60)
    return time.perf_counter() - started, 1


def print_profile(profiler: cProfile.Profile, count: int) -> None:
    stats = pstats.Stats(profiler)
    print(f"worker thread profile, first default drain of {count} messages (cProfile; the profiler slows it down):")
    width = 60
    entries = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)
    print(f"  {'cumulative s':>12} {'own s':>8} {'calls':>8}  function")
    shown = 0
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in entries:
        if "ddenterpriseapi" not in filename and "smtplib" not in filename and "sqlalchemy/orm/session" not in filename:
            continue
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line} {function}"
        print(f"  {cumulative:12.3f} {own:8.3f} {calls:8d}  {where[-width:]}")
        shown += 1
        if shown == 25:
            break


def drain_part(args, tmp: Path, pki) -> Verdict:
    print(f"\n== 2. drain rate: {args.messages} queued messages, one worker against one smtplib connection")
    print(f"load average at the start: {load()}")
    oauth = smtp = app = None
    try:
        oauth = start_oauth_server(args.shape)
        smtp = RemoteSMTPServer(pki, args.shape, oauth)  # the provider is another machine: another process
        instance = tmp / "drain-instance"
        app = build_console(instance, oauth, smtp, pki, args.shape)
        policy = OutboxPolicy.from_config(app.config)  # the defaults
        print(f"worker settings: the defaults (OUTBOX_BATCH_SIZE {policy.batch_size}, OUTBOX_CONNECTION_MAX_MESSAGES "
              f"{policy.connection_max_messages}, OUTBOX_CONNECTION_MAX_AGE {policy.connection_max_age:g} s, "
              f"OUTBOX_KEEP_SENT {policy.keep_sent.total_seconds():g} s), provider unpaced and in a process of its "
              f"own; SQLite on {filesystem_of(instance)}")
        with app.app_context():
            token = get_access_token(current_runtime())  # fetched once, for the smtplib runs
        # Warm-up, untimed: the first connection, TLS contexts, SQLite pages, imports on the worker's path.
        queue(app, 20, -100)
        drain_with_worker(app, smtp, policy, 20, "bench-warmup")

        worker_times, smtplib_times, connections = [], [], []
        profiler = cProfile.Profile() if args.profile else None
        number = 0
        for round_index in range(args.drain_rounds):
            envelopes = queue(app, args.messages, number)  # no worker running while queuing
            number += args.messages
            runs = ("smtplib", "worker") if round_index % 2 == 0 else ("worker", "smtplib")
            for run in runs:
                if run == "smtplib":
                    smtplib_times.append(drain_with_smtplib(smtp, pki, token, envelopes)[0])
                else:
                    seconds, used = drain_with_worker(app, smtp, policy, args.messages, f"bench-{round_index}",
                                                      profiler if round_index == 0 else None)
                    worker_times.append(seconds)
                    connections.append(used)
        large = None
        if args.large_batch:
            queue(app, args.messages, number)
            number += args.messages
            large = drain_with_worker(app, smtp, replace(policy, batch_size=args.large_batch), args.messages,
                                      "bench-large")
        sent = sent_count(app)
        mechanisms = smtp.mechanisms()
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        if smtp is not None:
            smtp.stop()
        if oauth is not None:
            oauth.stop()

    n = args.messages
    worker_rate = n * len(worker_times) / sum(worker_times)
    smtplib_rate = n * len(smtplib_times) / sum(smtplib_times)
    ratio = worker_rate / smtplib_rate
    for index, (w, s) in enumerate(zip(worker_times, smtplib_times)):
        print(f"round {index + 1}: worker {n / w:7.1f} msg/s ({w:.2f} s, {connections[index]} connections), "
              f"smtplib {n / s:7.1f} msg/s ({s:.2f} s, 1 connection), ratio {(n / w) / (n / s):.3f}")
    print(f"worker, OUTBOX_BATCH_SIZE {policy.batch_size} (default): {worker_rate:7.1f} msg/s "
          f"({1000 / worker_rate:.2f} ms/message)")
    print(f"smtplib, one connection (the limit): {smtplib_rate:7.1f} msg/s ({1000 / smtplib_rate:.2f} ms/message)")
    if large is not None:
        print(f"for information, worker with OUTBOX_BATCH_SIZE {args.large_batch}: {n / large[0]:7.1f} msg/s "
              f"({large[0]:.2f} s, {large[1]} connections), {n / large[0] / smtplib_rate:.3f} x smtplib")
    expected_sent = 20 + n * args.drain_rounds + (n if large is not None else 0)
    problems = []
    if sent != expected_sent:
        problems.append(f"{sent} messages recorded sent, expected {expected_sent}")
    if mechanisms != {"XOAUTH2"}:
        problems.append(f"the SMTP server saw AUTH mechanisms {mechanisms}")
    ok = ratio >= DRAIN_TARGET and not problems
    print(f"ratio worker/smtplib: {ratio:.3f} (target >= {DRAIN_TARGET})  {'PASS' if ok else 'FAIL'}")
    round_ratios = [s / w for w, s in zip(worker_times, smtplib_times)]
    print(f"noise check: per-round ratios {min(round_ratios):.3f} to {max(round_ratios):.3f}, median "
          f"{statistics.median(round_ratios):.3f}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if profiler is not None:
        print_profile(profiler, n)
    print(f"load average at the end: {load()}")
    line = f"worker {worker_rate:.1f} msg/s vs smtplib {smtplib_rate:.1f} msg/s: ratio {ratio:.3f} (>= {DRAIN_TARGET})"
    if large is not None:
        line += f"; batch {args.large_batch}: {n / large[0] / smtplib_rate:.3f}"
    return Verdict("drain", line, ok)


# -- 3. token economy ----------------------------------------------------------------------------------------

class TokenCalls:
    """Watches the test OAuth server's token endpoint: each call with the moment it was seen."""

    def __init__(self, oauth):
        self.oauth, self.seen = oauth, len(oauth.token_requests)
        self.calls: list[tuple[float, dict]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        while not self.stop.wait(0.005):
            new = self.oauth.token_requests[self.seen:]
            self.seen += len(new)
            moment = time.monotonic()
            self.calls.extend((moment, call) for call in new)

    def __enter__(self) -> TokenCalls:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join(5)


class Feeder:
    """Accepts one message every `interval` seconds through the accept service, in its own application context,
    on a fixed schedule from `started` (no drift), and returns at `until`: the steady sending spans exactly that."""

    def __init__(self, app, interval: float, started: float, until: float):
        self.app, self.interval, self.started, self.until = app, interval, started, until
        self.count = 0
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            with self.app.app_context():
                runtime = current_runtime()
                while (moment := self.started + self.count * self.interval) < self.until:
                    time.sleep(max(moment - time.monotonic(), 0))
                    accept(runtime, [draft(self.count)], SUBMITTER)
                    db.session.commit()
                    self.count += 1
            time.sleep(max(self.until - time.monotonic(), 0))
        except BaseException as error:
            self.failure = error
            raise


def tokens_part(args, tmp: Path, pki) -> Verdict:
    scale = args.scale
    lifetime = round(args.token_lifetime / scale)  # the test server issues whole seconds, as providers do
    margin_setting = (300 if args.margin is None else args.margin) / scale
    duration = args.minutes * 60 / scale
    interval = args.interval / scale
    poll = 1 / scale  # WORKER_POLL_INTERVAL: 1 s unscaled, as long as the message interval
    margin = min(margin_setting, lifetime / 2)  # the console's rule (oauth/tokens.py _usable)
    usable = lifetime - margin
    print(f"\n== 3. token economy: two workers, steady sending, {args.token_lifetime / 60:g}-minute tokens")
    print(f"load average at the start: {load()}")
    if scale == 1:
        print(f"real time: {args.minutes:g} minutes")
    else:
        print(f"time-scaled by {scale:g}: {args.minutes:g} minutes -> {duration:g} s; token lifetime "
              f"{args.token_lifetime} s -> {lifetime} s; ACCESS_TOKEN_MARGIN {margin_setting * scale:g} s -> "
              f"{margin_setting:g} s; one message every {args.interval:g} s -> {interval:g} s; WORKER_POLL_INTERVAL "
              f"1 s -> {poll:g} s")
    print(f"rule: margin = min(ACCESS_TOKEN_MARGIN {margin_setting:g}, lifetime/2 {lifetime / 2:g}) = {margin:g} s, "
          f"so a refresh every lifetime - margin = {usable:g} s")
    oauth = smtp = app = None
    workers: list[RunningWorker] = []
    try:
        oauth = start_oauth_server(args.shape, access_token_lifetime=lifetime)
        smtp = SMTPTestServer(security="starttls", pki=pki, style=args.shape,
                              check_token=oauth.check_access_token).start()
        app = build_console(tmp / "tokens-instance", oauth, smtp, pki, args.shape,
                            ACCESS_TOKEN_MARGIN=margin_setting, WORKER_POLL_INTERVAL=poll)
        policy = OutboxPolicy.from_config(app.config)
        workers = [RunningWorker(app, policy, paced=False, name=f"bench-token-{i}").start() for i in (1, 2)]
        received = len(smtp.messages)
        with TokenCalls(oauth) as calls:
            with app.app_context():  # the run starts with an expired-looking token: its first message refreshes
                row = db.session.get(OAuthConnection, 1)
                row.access_token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
                db.session.commit()
            started = time.monotonic()
            feeder = Feeder(app, interval, started, started + duration)
            feeder.thread.start()
            next_report = started + max(duration / 6, 10)
            while feeder.thread.is_alive():
                feeder.thread.join(1)
                if time.monotonic() >= next_report and feeder.thread.is_alive():
                    refreshed = sum(call["grant_type"] == "refresh_token" for _, call in calls.calls)
                    print(f"  {time.monotonic() - started:6.0f} s: {feeder.count} messages accepted, "
                          f"{len(smtp.messages) - received} delivered, {refreshed} refreshes")
                    next_report += max(duration / 6, 10)
            if feeder.failure is not None:
                raise feeder.failure
            smtp.wait_for_messages(received + feeder.count, timeout=60)
            ended = time.monotonic()  # the end of the sending span, or the last delivery if later
            time.sleep(0.05)  # the watcher's last look
        for worker in workers:
            worker.halt()
        workers = []
        with app.app_context():
            per_worker = dict(db.session.execute(select(OutboxAttempt.worker, func.count())
                                                 .group_by(OutboxAttempt.worker)).all())
        failed_auth = sum(not attempt["ok"] for attempt in smtp.auth_attempts)
    finally:
        for worker in workers:
            worker.stop.set()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        if smtp is not None:
            smtp.stop()
        if oauth is not None:
            oauth.stop()

    elapsed = ended - started
    during = [(moment, call) for moment, call in calls.calls if started <= moment <= ended]
    refreshes = [moment - started for moment, call in during if call["grant_type"] == "refresh_token"]
    expected = math.floor(elapsed / usable)
    gaps = [b - a for a, b in zip(refreshes, refreshes[1:])]
    print(f"{feeder.count} messages accepted and delivered over {elapsed:.1f} s; per worker: "
          + ", ".join(f"{name} {count}" for name, count in sorted(per_worker.items()) if name.startswith("bench-")))
    if gaps:
        print(f"refreshes at {', '.join(f'{t:.1f}' for t in refreshes[:14])}{' ...' if len(refreshes) > 14 else ''} s;"
              f" intervals {min(gaps):.2f} to {max(gaps):.2f} s (median {statistics.median(gaps):.2f}, "
              f"expected {usable:g})")
    problems = []
    if len(during) != len(refreshes) or not all(call["ok"] for _, call in during):
        problems.append(f"{len(during)} token-endpoint calls, {len(refreshes)} of them refresh grants, "
                        f"{sum(not call['ok'] for _, call in during)} failed")
    if failed_auth:
        problems.append(f"{failed_auth} XOAUTH2 attempts refused by the SMTP server")
    if sum(1 for name in per_worker if name.startswith("bench-token-")) < 2:
        problems.append(f"not both workers delivered: {per_worker}")
    ok = expected <= len(refreshes) <= expected + 1 and not problems
    scaled = f" (unscaled: {elapsed * scale / 60:.1f} minutes)" if scale != 1 else ""
    print(f"refresh-token grants: {len(refreshes)} over {elapsed:.1f} s{scaled}; expected floor({elapsed:.1f} / "
          f"{usable:g}) = {expected}, +1 at most  {'PASS' if ok else 'FAIL'}")
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"load average at the end: {load()}")
    scaled = f" (time-scaled by {scale:g})" if scale != 1 else ""
    return Verdict("tokens", f"{len(refreshes)} refresh grants in {elapsed:.1f} s{scaled}, expected {expected} to "
                             f"{expected + 1}", ok)


# -- running -----------------------------------------------------------------------------------------------

PARTS = {"accept": accept_part, "drain": drain_part, "tokens": tokens_part}


def run(args) -> int:
    verdicts: list[Verdict] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dde-bench-outbox-") as tmp:
        tmp = Path(tmp)
        pki = make_pki(tmp / "pki")
        for part in ("accept", "drain", "tokens"):
            if part not in args.parts:
                continue
            try:
                verdicts.append(PARTS[part](args, tmp, pki))
            except Exception as error:  # a broken setup is not a benchmark result
                traceback.print_exc()
                print(f"benchmark part {part} failed: {type(error).__name__}: {error}", file=sys.stderr)
                gunicorn_log = tmp / "gunicorn.log"
                if part == "accept" and gunicorn_log.exists():
                    print(gunicorn_log.read_text(errors="replace")[-3000:], file=sys.stderr)
                return 2
    return summary(verdicts, started)


def main(argv=None) -> int:
    return bounded_main(parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
