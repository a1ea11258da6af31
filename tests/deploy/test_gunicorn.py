"""gunicorn started the production way (`gunicorn -c gunicorn.conf.py wsgi:app`): what it prints and logs."""

import pytest
import requests

from tests.deploy.helpers import GunicornConsole, console_env, prepare_console
from tests.helpers import NO_TABLES


def test_unmigrated_database_stops_gunicorn_with_one_line(tmp_path, pki):
    console = GunicornConsole(console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path),
                              tmp_path / "gunicorn.log")
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited with 1"):
            console.start()
    finally:
        console.stop()
    assert console.log_text().strip() == NO_TABLES


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
