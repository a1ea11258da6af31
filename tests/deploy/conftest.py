"""Deployment fixtures: gunicorn consoles, workers and relays, the certificate nginx presents, a throwaway PostgreSQL
cluster."""

import pytest

from tests.deploy.helpers import GunicornConsole, relay_process, worker_process
from tests.servers.postgres import PostgresTestServer
from tests.servers.tls import make_pki


def started_processes(tmp_path, make, kind: str):
    """A fixture's start(env, name) for one kind of process; every process it started is stopped at teardown."""
    processes = []

    def start(env: dict, name: str = kind):
        processes.append(make(env, tmp_path / f"{name}-{len(processes)}.log"))
        return processes[-1].start()

    yield start
    for process in processes:
        process.stop()


@pytest.fixture
def start_console(tmp_path):
    """Start gunicorn consoles (after preparing them)."""
    yield from started_processes(tmp_path, GunicornConsole, "gunicorn")


@pytest.fixture
def start_worker(tmp_path):
    """Start delivery worker processes."""
    yield from started_processes(tmp_path, worker_process, "worker")


@pytest.fixture
def start_relay_process(tmp_path):
    """Start relay processes."""
    yield from started_processes(tmp_path, relay_process, "relay")


@pytest.fixture(scope="session")
def proxy_pki(tmp_path_factory):
    """A fresh CA and a certificate for localhost / 127.0.0.1, presented by nginx."""
    return make_pki(tmp_path_factory.mktemp("proxy-pki"))


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway cluster for the whole run."""
    server = PostgresTestServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_db(postgres_server):
    """A fresh database (and role) per test, dropped afterwards."""
    database = postgres_server.create_database()
    yield database
    postgres_server.drop_database(database)
