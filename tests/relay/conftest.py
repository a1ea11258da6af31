"""Relay fixtures: relays started in the test process (stopped at teardown), and a console ready to relay: authorized
with Google, the SMTP test server demanding XOAUTH2, a delivery worker and an API key."""

import pytest

from tests.relay.helpers import PROGRAM, RunningRelay


@pytest.fixture
def start_relay(oauth_app, pki):
    """Start relays on the console (with the test certificate unless tls=False); all stop at teardown."""
    relays = []

    def start(tls: bool = True, **config_and_fields) -> RunningRelay:
        config = {name: value for name, value in config_and_fields.items() if name.startswith("RELAY_")}
        fields = {name: value for name, value in config_and_fields.items() if name not in config}
        if tls:
            config = {"RELAY_TLS_CERT": pki.cert_path, "RELAY_TLS_KEY": pki.key_path, **config}
        relays.append(RunningRelay(oauth_app, config, **fields).start())
        return relays[-1]

    yield start
    for relay in relays:
        relay.halt()


@pytest.fixture
def relaying(sending, worker, start_relay):
    """(the SMTP test server, the relay, the credentials a program logs in with)."""
    smtp, key = sending
    return smtp, start_relay(), (PROGRAM, key)
