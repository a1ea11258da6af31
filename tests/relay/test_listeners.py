"""Where and how the relay listens: STARTTLS and the implicit-TLS listener with the test certificate, settings it
refuses to start with (in one line), and a clean stop that tells connected clients why."""

import smtplib
import socket

import pytest

from ddenterpriseapi import config as defaults
from ddenterpriseapi.relay.server import RelayNotStarted
from ddenterpriseapi.relay.settings import Listener, RelaySettings, RelaySettingsError
from tests.deploy.helpers import free_port
from tests.helpers import wait_for_status
from tests.relay.helpers import HOST, RunningRelay, bare_message, client_context, queued_id

DEFAULTS = {name: getattr(defaults, name) for name in dir(defaults) if name.startswith("RELAY_")}


def settings(**config) -> RelaySettings:
    return RelaySettings.from_config({**DEFAULTS, **config})


def test_the_implicit_tls_listener_speaks_tls_from_the_first_byte(relaying, start_relay, oauth_app, pki):
    _, _, login = relaying
    relay = start_relay(RELAY_TLS_BIND=f"{HOST}:{free_port()}")
    with smtplib.SMTP_SSL(HOST, relay.port_of(implicit_tls=True), context=client_context(pki), timeout=10) as client:
        client.ehlo()
        assert "starttls" not in client.esmtp_features and "auth" in client.esmtp_features
        client.login(*login)
        outbox_id = queued_id(client, "cron@corp.example", ["boss@example.org"], bare_message())
    wait_for_status(oauth_app, outbox_id, "sent")


def test_a_stopping_relay_tells_its_clients(relaying, start_relay):
    relay = start_relay()
    with socket.create_connection((HOST, relay.port), timeout=10) as sock:
        assert sock.recv(1000).startswith(b"220 ")
        relay.halt()
        assert sock.recv(1000) == b"421 4.3.2 The relay is shutting down; try again later\r\n"


def test_defaults_listen_on_loopback_only():
    relay = settings()
    assert relay.listeners == (Listener("127.0.0.1", 2525),) and not relay.has_certificate
    assert relay.max_size == 25 * 1024 * 1024 and relay.trusted_networks == ()


@pytest.mark.parametrize(("config", "message"), [
    ({"RELAY_BIND": "0.0.0.0:2525"}, "The relay would listen on 0.0.0.0:2525 without TLS"),
    ({"RELAY_BIND": "[::]:25"}, "The relay would listen on [::]:25 without TLS"),
    ({"RELAY_TLS_BIND": "127.0.0.1:465"}, "RELAY_TLS_BIND needs a certificate"),
    ({"RELAY_TLS_CERT": "/etc/relay.pem"}, "Set both RELAY_TLS_CERT and RELAY_TLS_KEY, or neither."),
    ({"RELAY_BIND": "2525"}, "RELAY_BIND must be host:port"),
    ({"RELAY_TRUSTED_NETWORKS": "10.0.0.0/8, not-a-network"}, "RELAY_TRUSTED_NETWORKS: "),
    ({"RELAY_MAX_SIZE": 0}, "RELAY_MAX_SIZE must be a number above zero"),
])
def test_settings_the_relay_refuses_to_start_with(config, message):
    with pytest.raises(RelaySettingsError) as refused:
        settings(**config)
    assert refused.value.message.startswith(message) and "\n" not in refused.value.message


def test_plain_text_beyond_loopback_when_the_operator_says_so():
    relay = settings(RELAY_BIND="0.0.0.0:2525", RELAY_ALLOW_PLAINTEXT=True,
                     RELAY_TRUSTED_NETWORKS=["10.1.2.0/24", "2001:db8::/32"])
    assert relay.trusts("10.1.2.3") and relay.trusts("::ffff:10.1.2.3") and relay.trusts("2001:db8::1")
    assert not relay.trusts("10.1.3.1") and not relay.trusts("127.0.0.1") and not relay.trusts(None)


def test_an_unreadable_certificate_or_a_taken_port_is_one_line(oauth_app, tmp_path, pki):
    missing = RunningRelay(oauth_app, {"RELAY_TLS_CERT": str(tmp_path / "none.pem"), "RELAY_TLS_KEY": pki.key_path})
    with pytest.raises(AssertionError, match="The relay's certificate cannot be loaded"):
        missing.start()
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        busy = RunningRelay(oauth_app, {"RELAY_BIND": f"{HOST}:{taken.getsockname()[1]}"})
        with pytest.raises(AssertionError, match="The relay cannot listen on 127.0.0.1:"):
            busy.start()
    assert isinstance(busy.failure, RelayNotStarted)
