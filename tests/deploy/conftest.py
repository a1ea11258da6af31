"""Deployment fixtures: gunicorn consoles, workers and relays, the certificate nginx presents, a throwaway PostgreSQL
cluster."""

import pytest

from tests.deploy.helpers import FlaskProcess, GunicornConsole, relay_process, worker_process
from tests.servers.postgres import PostgresTestServer
from tests.servers.tls import make_pki


@pytest.fixture
def start_console(tmp_path):
    """Start gunicorn consoles (after preparing them); all are stopped at teardown."""
    consoles = []

    def start(env: dict, name: str = "gunicorn") -> GunicornConsole:
        console = GunicornConsole(env, tmp_path / f"{name}-{len(consoles)}.log")
        consoles.append(console)
        return console.start()

    yield start
    for console in consoles:
        console.stop()


@pytest.fixture
def start_worker(tmp_path):
    """Start delivery worker processes; all are stopped at teardown."""
    workers = []

    def start(env: dict, name: str = "worker") -> FlaskProcess:
        worker = worker_process(env, tmp_path / f"{name}-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def start_relay_process(tmp_path):
    """Start relay processes; all are stopped at teardown."""
    relays = []

    def start(env: dict, name: str = "relay") -> FlaskProcess:
        relays.append(relay_process(env, tmp_path / f"{name}-{len(relays)}.log"))
        return relays[-1].start()

    yield start
    for relay in relays:
        relay.stop()


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
