"""The relay's SMTP: the extensions it offers, SIZE, the provider's recipient limit, pipelining, enhanced status codes,
the caps on connections and their duration, and a provider outage that clients never see."""

import base64
import smtplib
import socket
import sqlite3
import time
from dataclasses import replace

import pytest

from tests.helpers import outbox_row, wait_for_status
from tests.relay.helpers import HOST, bare_message, connect, queued_id


def limit_google(app, **limits) -> None:
    """Change the Google preset's limits, as OAUTH_PROVIDER_OVERRIDES would (for relays started from now on)."""
    runtime = app.extensions["dde_runtime"]
    google = replace(runtime.providers["google"], **limits)
    app.extensions["dde_runtime"] = replace(runtime, providers={**runtime.providers, "google": google})


def read_replies(sock: socket.socket, count: int) -> list[str]:
    """The next `count` final replies (multi-line ones joined), as text."""
    buffer, replies = b"", []
    while len(replies) < count:
        chunk = sock.recv(65536)
        assert chunk, f"the relay hung up after {replies}"
        buffer += chunk
        *lines, buffer = buffer.split(b"\r\n")
        replies += [line.decode() for line in lines if line[3:4] == b" "]
    return replies


def test_ehlo_offers_the_extensions_clients_rely_on(relaying, pki):
    _, relay, _ = relaying
    with connect(relay) as client:
        assert client.ehlo_resp.decode().splitlines()[0] == relay.settings.hostname
        features = set(client.esmtp_features)
        assert {"size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes", "starttls", "auth"} <= features
        assert client.esmtp_features["size"] == str(25 * 1024 * 1024)
    with connect(relay, pki) as client:
        assert "starttls" not in client.esmtp_features and client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]


def test_a_message_over_the_size_limit_is_refused(relaying, start_relay, pki):
    _, _, login = relaying
    small = start_relay(RELAY_MAX_SIZE=2000)
    with connect(small, pki, login) as client:
        assert client.mail("a@corp.example", ["SIZE=5000"])[0] == 552  # declared too big: refused at once
        client.rset()
        client.mail("a@corp.example")
        client.rcpt("boss@example.org")
        code, reply = client.data(bare_message(body="\r\n".join(["x" * 70] * 50)))
        assert (code, reply[:6]) == (552, b"5.3.4 ")


def test_a_message_over_the_providers_limit_is_refused_with_the_reason(relaying, start_relay, oauth_app, pki):
    _, _, login = relaying
    limit_google(oauth_app, max_message_bytes=2**20)
    relay = start_relay()
    with connect(relay, pki, login) as client:
        client.mail("a@corp.example")
        client.rcpt("boss@example.org")
        code, reply = client.data(bare_message(body="\r\n".join(["x" * 998] * 1200)))
    assert (code, reply) == (552, b"5.3.4 The message is 1.1 MB; Google accepts at most 1 MB.")


def test_recipients_beyond_the_providers_limit_are_refused(relaying, start_relay, oauth_app, pki):
    smtp, _, login = relaying
    limit_google(oauth_app, max_recipients=3)
    relay = start_relay()
    with connect(relay, pki, login) as client:
        client.mail("a@corp.example")
        assert [client.rcpt(f"r{n}@example.org")[0] for n in range(4)] == [250, 250, 250, 452]
        assert client.rcpt("r9@example.org") == (452, b"4.5.3 Too many recipients")
        code, reply = client.data(bare_message())
    assert code == 250 and len(smtp.wait_for_messages(1)[0].rcpt_tos) == 3


def test_pipelined_commands_are_answered_in_order(relaying, oauth_app):
    smtp, relay, (program, key) = relaying
    with socket.create_connection((HOST, relay.port), timeout=10) as sock:
        read_replies(sock, 1)
        sock.sendall(b"EHLO client\r\n")
        read_replies(sock, 1)
        sock.sendall(b"AUTH PLAIN " + base64.b64encode(f"\0{program}\0{key}".encode()) + b"\r\n"
                     b"MAIL FROM:<a@corp.example>\r\nRCPT TO:<boss@example.org>\r\nRCPT TO:<team@example.org>\r\n"
                     b"DATA\r\n")
        replies = read_replies(sock, 5)
        sock.sendall(bare_message() + b".\r\nQUIT\r\n")
        replies += read_replies(sock, 2)
    assert [reply[:9] for reply in replies] == ["235 2.7.0", "250 2.1.0", "250 2.1.5", "250 2.1.5", "354 End d",
                                                "250 2.0.0", "221 2.0.0"]
    wait_for_status(oauth_app, int(replies[5].rsplit(" ", 1)[1]), "sent")


def test_aiosmtpd_replies_carry_enhanced_status_codes(relaying, pki):
    _, relay, login = relaying
    with connect(relay, pki, login) as client:
        assert client.rcpt("boss@example.org") == (503, b"5.5.1 Error: need MAIL command")
        assert client.docmd("DATA") == (503, b"5.5.1 Error: need RCPT command")
        assert client.docmd("EXPN", "staff")[0:2] == (502, b"5.5.1 EXPN not implemented")
        assert client.noop() == (250, b"2.0.0 OK")


def test_connections_beyond_the_limit_are_turned_away(relaying, start_relay):
    relay = start_relay(RELAY_MAX_CONNECTIONS=2)
    first, second = connect(relay), connect(relay)
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(HOST, relay.port, timeout=10)
    assert refused.value.smtp_code == 421 and refused.value.smtp_error.startswith(b"4.7.0 Too many connections")
    first.quit()
    time.sleep(0.2)
    with connect(relay) as third:
        assert third.noop()[0] == 250
    second.quit()


def test_idle_and_long_connections_are_closed(relaying, start_relay):
    idle = start_relay(RELAY_IDLE_TIMEOUT=0.3)
    with connect(idle) as client:
        time.sleep(0.6)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    long = start_relay(RELAY_SESSION_TIMEOUT=0.5)
    with socket.create_connection((HOST, long.port), timeout=10) as sock:
        read_replies(sock, 1)
        for _ in range(4):
            sock.sendall(b"NOOP\r\n")
            assert read_replies(sock, 1) == ["250 2.0.0 OK"]
            time.sleep(0.1)
        time.sleep(0.3)
        assert read_replies(sock, 1) == ["421 4.4.2 Connection open too long; closing"] and sock.recv(100) == b""


def test_the_relay_keeps_accepting_while_the_provider_is_down(relaying, oauth_app, pki):
    smtp, relay, login = relaying
    smtp.stop_listening()
    with connect(relay, pki, login) as client:
        ids = [queued_id(client, "cron@corp.example", ["boss@example.org"], bare_message(subject=f"report {n}"))
               for n in range(5)]
    for outbox_id in ids:
        assert wait_for_status(oauth_app, outbox_id, "deferred")["last_error"]
    smtp.resume()
    for outbox_id in ids:
        wait_for_status(oauth_app, outbox_id, "sent")
    subjects = sorted(message.message["Subject"] for message in smtp.wait_for_messages(5))
    assert subjects == [f"report {n}" for n in range(5)]


def test_a_message_that_cannot_be_committed_is_refused_for_now_not_lost(sending, start_relay, oauth_app, pki):
    _, key = sending
    relay = start_relay()
    database = sqlite3.connect(oauth_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with connect(relay, pki, ("jenkins", key)) as client:
        database.execute("ALTER TABLE outbox_message RENAME TO outbox_message_away")  # the database fails
        client.mail("cron@corp.example")
        client.rcpt("boss@example.org")
        assert client.data(bare_message()) == (451, b"4.3.0 The message could not be queued; try again later")
        database.execute("ALTER TABLE outbox_message_away RENAME TO outbox_message")
        outbox_id = queued_id(client, "cron@corp.example", ["boss@example.org"], bare_message())  # the retry
    database.close()
    assert outbox_row(oauth_app, outbox_id)["status"] == "queued"
