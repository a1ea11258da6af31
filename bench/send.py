"""Benchmark: sending with OAuth 2.0 (XOAUTH2) against sending with a password, through the real sending service.

Run from the repository root:

    .venv/bin/python bench/send.py                 # 500 messages per mode, Google-shaped provider
    .venv/bin/python bench/send.py --messages 100 --shape microsoft

Everything runs in this process on 127.0.0.1: the test OAuth authorization server (Authlib), the test SMTP
server (aiosmtpd, STARTTLS with a throwaway CA, XOAUTH2 tokens checked with the OAuth server, PLAIN/LOGIN
checked against a password), and the console itself built with create_app on a temporary instance folder.
The OAuth connection is made through the real authorization flow (login form, OAuth page, provider consent,
callback).

Each message is one call of send_drafts(runtime, [draft]) in its own application context, as when a reporting server
mails one report at a time: reading the settings, getting credentials, connecting, STARTTLS, AUTH, sending and
recording the outcome are all timed. After a short warm-up of each mode, the access token is made to look
expired, then the two modes run in short interleaved batches (10 by default, alternating which goes first) so
machine noise hits both alike; the mode switch (save_mail_server) is not timed. The OAuth figure therefore
includes the one token refresh of the run.

Targets: OAuth rate >= 0.95 x password rate; token-endpoint calls = access-token lifetimes elapsed (1 for a
short run), never one per message. Exit status 0 when both are met, 1 otherwise, 2 when setup fails or the
run overruns --timeout.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import bounded_main  # noqa: E402
from ddenterpriseapi import create_app  # noqa: E402
from ddenterpriseapi.extensions import current_runtime, db  # noqa: E402
from ddenterpriseapi.mail.message import Draft  # noqa: E402
from ddenterpriseapi.mail.sending import send_drafts  # noqa: E402
from ddenterpriseapi.mail.server import save_mail_server  # noqa: E402
from ddenterpriseapi.models import OAuthConnection  # noqa: E402
from tests.helpers import MAILBOX, AuthActions, OAuthActions, start_oauth_server  # noqa: E402
from tests.servers.smtp_server import SMTPTestServer  # noqa: E402
from tests.servers.tls import make_pki  # noqa: E402

RATIO_TARGET = 0.95
WARMUP = 5  # messages per mode before timing: imports, first TLS contexts, SQLite pages
RECIPIENT = "boss@example.org"
REPORT_TEXT = "Daily report\n\n" + "\n".join(f"line {i}: all systems nominal" for i in range(40)) + "\n"
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per mode (default 500)")
    parser.add_argument("--shape", choices=("google", "microsoft"), default="google",
                        help="provider shape of the test authorization server (default google)")
    parser.add_argument("--token-lifetime", type=int, default=3600,
                        help="access-token lifetime in seconds issued by the test provider (default 3600)")
    parser.add_argument("--batch", type=int, default=10,
                        help="messages per interleaved batch (default 10: short batches spread machine noise evenly)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="abort the whole run after this many seconds (default 600)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.batch < 1:
        parser.error("--messages and --batch must be at least 1")
    if args.token_lifetime < 1:
        parser.error("--token-lifetime must be at least 1")
    return args


def build_console(instance: Path, oauth, pki, shape: str):
    """The console, its administrator logged in, OAuth authorized through the real flow."""
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "OAUTH_PROVIDER_OVERRIDES": {shape: oauth.provider_override()},
        "SMTP_CA_BUNDLE": pki.ca_cert_path,
        "SMTP_TIMEOUT": 5,
        "HTTP_TIMEOUT": 5,
    })
    with app.app_context():
        db.create_all()
    client = app.test_client()
    auth = AuthActions(app, client)
    auth.create()
    response = auth.login()
    if response.status_code != 302:
        raise RuntimeError(f"logging in failed (HTTP {response.status_code})")
    page = OAuthActions(client, oauth).connect(shape)
    if page.status_code != 200:
        raise RuntimeError(f"the OAuth callback failed (HTTP {page.status_code})")
    with app.app_context():
        connection = db.session.get(OAuthConnection, 1)
        if connection is None or not connection.refresh_token or not connection.access_token:
            raise RuntimeError("authorizing did not store a connection with tokens")
    return app


def use_mode(app, smtp, mode: str) -> None:
    """Switch the email server between OAuth and password authentication (not timed)."""
    values = {"host": smtp.host, "port": smtp.port, "security": "starttls", "sender_address": None,
              "sender_name": None, "authentication": mode}
    if mode == "oauth":
        values.update(username=None, password=None)  # blank: the authorized account; password kept, unused
    else:
        values.update(username=MAILBOX[0], password=MAILBOX[1])
    with app.app_context():
        save_mail_server(values)


def send_one(app, number: int) -> float:
    """Send one report through the sending service; the seconds it took."""
    draft = Draft(to=[RECIPIENT], subject=f"Report {number}", text=REPORT_TEXT)
    start = time.perf_counter()
    with app.app_context():
        send_drafts(current_runtime(), [draft])
    return time.perf_counter() - start


def age_access_token(app) -> None:
    """Make the console's access token look expired, so the next OAuth send refreshes it."""
    with app.app_context():
        row = db.session.get(OAuthConnection, 1)
        row.access_token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()


def stored_access_token(app) -> str | None:
    with app.app_context():
        return db.session.get(OAuthConnection, 1).access_token


def expected_refreshes(span: float, lifetime: int, margin: float, max_gap: float) -> tuple[int, int]:
    """The range of refreshes the OAuth run should make: one at its start, then one per usable lifetime."""
    usable = lifetime - margin  # the console refreshes this long after each refresh
    high = 1 + math.floor(span / usable)
    low = 1 + math.floor(span / (usable + max_gap + 1))  # refreshes wait for the next OAuth send
    return low, high


def run(args) -> int:
    oauth = smtp = app = None
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dde-bench-") as tmp:
        tmp = Path(tmp)
        try:
            oauth = start_oauth_server(args.shape, access_token_lifetime=args.token_lifetime)
            pki = make_pki(tmp / "pki")
            smtp = SMTPTestServer(security="starttls", pki=pki, style=args.shape,
                                  check_token=oauth.check_access_token, passwords={MAILBOX[0]: MAILBOX[1]}).start()
            app = build_console(tmp / "instance", oauth, pki, args.shape)
            # The console refreshes ACCESS_TOKEN_MARGIN early, or half-way through a shorter-lived token.
            margin = min(float(app.config["ACCESS_TOKEN_MARGIN"]), args.token_lifetime / 2)

            for mode in ("password", "oauth"):  # warm-up, untimed
                use_mode(app, smtp, mode)
                for i in range(WARMUP):
                    send_one(app, -1 - i)

            age_access_token(app)
            token_before = stored_access_token(app)
            calls_before = len(oauth.token_requests)
            received_before = len(smtp.messages)

            times = {"oauth": [], "password": []}
            oauth_first_start = oauth_last_end = None
            oauth_gaps, last_oauth_end = [], None
            number, rounds = 0, math.ceil(args.messages / args.batch)
            gc.collect()
            for round_index in range(rounds):
                size = min(args.batch, args.messages - round_index * args.batch)
                order = ("oauth", "password") if round_index % 2 == 0 else ("password", "oauth")
                for mode in order:
                    use_mode(app, smtp, mode)
                    for _ in range(size):
                        number += 1
                        started = time.monotonic()
                        times[mode].append(send_one(app, number))
                        if mode == "oauth":
                            if oauth_first_start is None:
                                oauth_first_start = started
                            if last_oauth_end is not None:
                                oauth_gaps.append(started - last_oauth_end)
                            last_oauth_end = oauth_last_end = time.monotonic()

            calls = oauth.token_requests[calls_before:]
            refreshes = [call for call in calls if call["grant_type"] == "refresh_token"]
            token_after = stored_access_token(app)
            received = smtp.wait_for_messages(received_before + 2 * args.messages, timeout=10)[received_before:]
        except Exception as error:  # a broken setup is not a benchmark result
            print(f"benchmark setup or run failed: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
        finally:
            if app is not None:
                with app.app_context():
                    db.engine.dispose()
            if smtp is not None:
                smtp.stop()
            if oauth is not None:
                oauth.stop()

    mechanisms = {}
    for message in received:
        mechanisms[message.auth_mechanism] = mechanisms.get(message.auth_mechanism, 0) + 1
    rate = {mode: len(values) / sum(values) for mode, values in times.items()}
    ratio = rate["oauth"] / rate["password"]
    span = oauth_last_end - oauth_first_start
    low, high = expected_refreshes(span, args.token_lifetime, margin, max(oauth_gaps, default=0.0))
    ratio_ok = ratio >= RATIO_TARGET
    calls_ok = (low <= len(refreshes) <= high and len(calls) == len(refreshes)
                and all(call["ok"] for call in calls) and (token_after != token_before) == bool(refreshes))
    sanity_ok = (mechanisms.get("XOAUTH2", 0) == args.messages
                 and sum(mechanisms.get(m, 0) for m in ("PLAIN", "LOGIN")) == args.messages)

    def median_ms(values):
        ordered = sorted(values)
        return 1000 * ordered[len(ordered) // 2]

    expected = str(high) if low == high else f"{low} to {high}"
    print(f"provider shape: {args.shape}, access-token lifetime: {args.token_lifetime} s "
          f"(console refreshes {margin:g} s early)")
    print(f"messages per mode: {args.messages} (one send_drafts call each, interleaved batches of {args.batch}, "
          f"after {WARMUP} warm-up messages per mode)")
    print(f"password AUTH: {rate['password']:.1f} msg/s (median {median_ms(times['password']):.2f} ms/message)")
    print(f"OAuth XOAUTH2: {rate['oauth']:.1f} msg/s (median {median_ms(times['oauth']):.2f} ms/message; "
          f"first send, with the token refresh: {1000 * times['oauth'][0]:.1f} ms)")
    print(f"ratio OAuth/password: {ratio:.3f} (target >= {RATIO_TARGET})  {'PASS' if ratio_ok else 'FAIL'}")
    extra = "" if len(calls) == len(refreshes) else f" ({len(calls)} token-endpoint calls in all)"
    print(f"token-endpoint calls during the OAuth run: {len(refreshes)}{extra} (target: 1 per access-token "
          f"lifetime elapsed = {expected}, over {span:.1f} s)  {'PASS' if calls_ok else 'FAIL'}")
    median_ratio = median_ms(times["password"]) / median_ms(times["oauth"])
    print(f"noise check: median-based ratio {median_ratio:.3f}; load average {load:.2f} on {os.cpu_count()} CPUs "
          "at the start (other work on the machine skews the totals)")
    if not sanity_ok:
        print(f"FAIL: the SMTP server received {mechanisms} instead of {args.messages} XOAUTH2 and "
              f"{args.messages} password messages")
    return 0 if ratio_ok and calls_ok and sanity_ok else 1


def main(argv=None) -> int:
    return bounded_main(parse_args, run, argv)


if __name__ == "__main__":
    sys.exit(main())
