"""Fixtures: a fresh console per test, its client, and a helper for logging in."""

import re
import socket

import pytest

from ddenterpriseapi import create_app
from ddenterpriseapi.auth.accounts import create_admin
from ddenterpriseapi.extensions import db

ADMIN = ("admin", "correct horse battery")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any test that tries to reach beyond this machine."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to connect to {address!r}: tests use loopback only")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def make_app(tmp_path):
    """Build a console on a fresh database in its own instance folder."""
    apps = []

    def build(**config):
        settings = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "HTTP_TIMEOUT": 3}
        settings.update(config)
        app = create_app(settings)
        with app.app_context():
            db.create_all()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(response) -> str:
    """The CSRF token a page embeds, as a browser would submit it."""
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def submit(client, path, data, **kwargs):
    """GET a page, then POST its form with the page's CSRF token, like a browser."""
    token = csrf_from(client.get(path))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


class AuthActions:
    """Create the administrator and log in through the real login form."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, username=ADMIN[0], password=ADMIN[1]):
        with self.app.app_context():
            create_admin(username, password)

    def login(self, username=ADMIN[0], password=ADMIN[1]):
        return submit(self.client, "/ddenterpriseapi/login", {"username": username, "password": password})


@pytest.fixture
def auth(app, client):
    actions = AuthActions(app, client)
    actions.create()
    return actions
