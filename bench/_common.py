"""What the benchmarks share: quiet logging, the machine's load, CPU time read from /proc, the console under real
gunicorn configured through its pages, and a watchdog that ends an overrunning run with its processes."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.deploy import helpers as deploy  # noqa: E402
from tests.deploy.helpers import GunicornConsole  # noqa: E402
from tests.servers import loopback  # noqa: E402

# Started processes (anything with a `process` attribute holding a Popen started in its own session): killed with
# their process groups if the run overruns its --timeout, since they would outlive this process.
RUNNING: list = []


@dataclass
class Verdict:
    name: str
    line: str
    ok: bool | None  # None: reported, no target


def quiet() -> None:
    """Clean output: no INFO chatter from the servers and libraries."""
    for name in (
        "mail.debug",
        "aiosmtpd",
        "asyncio",
        "werkzeug",
        "urllib3",
        "oauthlib",
        "requests_oauthlib",
        "authlib",
        "ddenterpriseapi",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    # aiosmtpd 1.4 logs "Session.login_data is deprecated" at WARNING on every PLAIN/LOGIN AUTH: test-server
    # noise that would also put a stderr write on the password side only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (5 min: {five:.2f}) on {os.cpu_count()} CPUs"


def filesystem_of(path: Path) -> str:
    """The filesystem type holding path (from /proc/mounts), since SQLite's commits cost what its fsync costs."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _device, mount, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (Linux /proc); 0 for those gone."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def start_gunicorn(env: dict, log_path: Path) -> GunicornConsole:
    """The console under real gunicorn, as `make run` starts it; stop it with stop_started()."""
    console = GunicornConsole(env, log_path)
    RUNNING.append(console)
    return console.start()


def stop_started(process) -> None:
    """Stop a process started here (gunicorn, a flask command, ...) and forget it."""
    process.stop()
    if process in RUNNING:
        RUNNING.remove(process)


def configure_through_pages(console: GunicornConsole, oauth, smtp, shape: str) -> str:
    """Log in, authorize OAuth through the real flow (OAuth page, provider consent, callback), save the test SMTP
    server on the email server page and create an API key (for the API and the relay); the key."""
    with deploy.Browser(console.origin) as browser:
        browser.login()
        deploy.authorize(browser, oauth, provider=shape)
        saved = deploy.save_email_server(browser, smtp, save="1")
        if saved.status_code != 302:
            raise RuntimeError(f"saving the email server failed (HTTP {saved.status_code})")
        return deploy.create_api_key(browser)


def abort_after(seconds: float) -> threading.Timer:
    """Bound the run: past the deadline, show where every thread is stuck, kill the processes started and exit with
    status 2."""

    def abort():
        print(f"benchmark aborted: still running after {seconds:g} s", file=sys.stderr)
        faulthandler.dump_traceback(all_threads=True)
        for started in list(RUNNING):
            if started.process is not None:
                try:
                    os.killpg(started.process.pid, signal.SIGKILL)
                except OSError:
                    pass
        os._exit(2)

    timer = threading.Timer(seconds, abort)
    timer.daemon = True
    timer.start()
    return timer


def summary(verdicts: list[Verdict], started: float) -> int:
    """Print one line per verdict; the exit status: 1 when a target was missed, else 0."""
    print(f"\n== summary ({time.monotonic() - started:.0f} s; load average {load()})")
    for verdict in verdicts:
        status = {True: "PASS", False: "FAIL", None: "info"}[verdict.ok]
        print(f"  {verdict.name:7} {status}  {verdict.line}")
    return 1 if False in [verdict.ok for verdict in verdicts] else 0


def bounded_main(parse_args: Callable, run: Callable, argv=None) -> int:
    """Parse the arguments, quiet the libraries, refuse any connection beyond this machine, and run within the
    arguments' --timeout."""
    args = parse_args(argv)
    quiet()
    loopback.install()
    watchdog = abort_after(args.timeout)
    try:
        return run(args)
    finally:
        watchdog.cancel()
