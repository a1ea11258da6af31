"""gunicorn started the production way (`gunicorn -c gunicorn.conf.py wsgi:app`): what it prints and logs."""

import pytest

from tests.deploy.conftest import GunicornConsole, console_env
from tests.test_migrations import NO_TABLES


def test_unmigrated_database_stops_gunicorn_with_one_line(tmp_path, pki):
    console = GunicornConsole(console_env(tmp_path / "instance", overrides={}, ca_bundle=pki.ca_cert_path),
                              tmp_path / "gunicorn.log")
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited with 1"):
            console.start()
    finally:
        console.stop()
    assert console.log_text().strip() == NO_TABLES
