"""gunicorn started the production way (`gunicorn -c gunicorn.conf.py wsgi:app`): what it prints and logs."""

from datetime import timedelta

import pytest
import requests

from ddenterpriseapi import create_app
from ddenterpriseapi.outbox import statuses
from tests.deploy.helpers import HTTP_TIMEOUT, GunicornConsole, console_env, flask_command, prepare_console
from tests.helpers import NO_TABLES, add_rows, dispose, metric_samples, outbox_message, worker_heartbeat

METRICS_TOKEN = "scrape-token-from-afar"
SCRAPES = 8  # per round, each on a new connection: both workers answer some


def test_unmigrated_database_stops_gunicorn_with_one_line(tmp_path, pki):
    console = GunicornConsole(console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path),
                              tmp_path / "gunicorn.log")
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited with 1"):
            console.start()
    finally:
        console.stop()
    assert console.log_text().strip() == NO_TABLES


def test_a_console_without_administrators_prints_the_setup_address(tmp_path, pki):
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path)
    flask_command(env, "db", "upgrade")
    console = GunicornConsole(env, tmp_path / "gunicorn.log").start()
    try:
        log = console.wait_for_log("enter the setup code")
    finally:
        console.stop()
    assert f"Open http://localhost:{console.port}/ddenterpriseapi/setup and enter the setup code" in log


def test_access_log_escapes_control_characters(tmp_path, pki):
    env = console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path)
    prepare_console(env)
    console = GunicornConsole(env, tmp_path / "gunicorn.log").start()
    try:
        answer = requests.get(f"{console.url}/%0D%0AX-Injected:%201", timeout=10,
                              headers={"User-Agent": "probe\x85X-Injected: 2", "Connection": "close"})
        assert answer.status_code == 404
        log = console.wait_for_log("X-Injected: 2")
    finally:
        console.stop()
    (line,) = [line for line in log.splitlines() if "X-Injected" in line]
    assert '"GET /ddenterpriseapi/\\x0d\\x0aX-Injected: 1 HTTP/1.1" 404' in line
    assert line.endswith('"probe\\x85X-Injected: 2"')


def add_to_console(instance, *rows) -> None:
    """Write rows into the console's database from this process, as the API and the worker would."""
    app = create_app({"INSTANCE_PATH": str(instance)})
    add_rows(app, *rows)
    dispose([app])


def scrape(console, **headers) -> requests.Response:
    """GET /metrics on a new connection, so that successive scrapes may land on either worker."""
    return requests.get(f"{console.url}/metrics", timeout=HTTP_TIMEOUT, headers={"Connection": "close", **headers})


def test_every_worker_reads_the_metrics_from_the_database(tmp_path, pki, start_console):
    instance = tmp_path / "instance"
    env = console_env(instance, overrides={}, ca_bundle=pki.ca_cert_path, DDE_METRICS_TOKEN=METRICS_TOKEN)
    prepare_console(env)
    console = start_console(env)  # two workers (WEB_CONCURRENCY=2) and DDE_TRUSTED_PROXIES=1
    first = (outbox_message(statuses.QUEUED, timedelta(minutes=2)), outbox_message(statuses.SENT),
             worker_heartbeat(timedelta(seconds=1)))
    second = (outbox_message(statuses.SENT), outbox_message(statuses.FAILED), outbox_message(statuses.DEFERRED))
    for rows, expected in ((first, {"queued": 1, "deferred": 0, "sent": 1, "failed": 0}),
                           (second, {"queued": 1, "deferred": 1, "sent": 2, "failed": 1})):
        add_to_console(instance, *rows)  # after the workers started: nothing a process counted itself could know them
        for _ in range(SCRAPES):
            answer = scrape(console)
            assert answer.status_code == 200, answer.text
            samples = metric_samples(answer.text)
            counts = {status: samples[f'ddenterpriseapi_messages{{status="{status}"}}'] for status in expected}
            assert counts == expected
            assert samples["ddenterpriseapi_messages_sent_total"] == expected["sent"]
            assert samples["ddenterpriseapi_messages_failed_total"] == expected["failed"]
            assert samples["ddenterpriseapi_worker_heartbeat_age_seconds"] < 60

    forwarded = {"X-Forwarded-For": "203.0.113.5"}  # what nginx adds for a client elsewhere
    assert scrape(console, **forwarded).status_code == 403
    assert scrape(console, **forwarded, Authorization=f"Bearer {METRICS_TOKEN}").status_code == 200
