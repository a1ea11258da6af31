"""Notification fixtures: a webhook receiver, a fallback SMTP server with a password, the page's actions."""

import pytest

from tests.notify.helpers import FALLBACK_LOGIN, NotifyActions
from tests.servers.webhook_server import WebhookTestServer


@pytest.fixture
def webhook():
    with WebhookTestServer() as server:
        yield server


@pytest.fixture
def fallback_smtp(make_smtp):
    """The fallback server: an SMTP account with a password (STARTTLS on 127.0.0.1)."""
    return make_smtp(passwords=dict([FALLBACK_LOGIN]))


@pytest.fixture
def notify(admin_client):
    return NotifyActions(admin_client)
