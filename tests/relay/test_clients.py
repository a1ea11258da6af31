"""Real SMTP clients through the relay to the test provider over XOAUTH2: Python's smtplib and aiosmtplib, and
Debian's swaks and msmtp as the external programs administrators use. Each message arrives as it was written."""

import asyncio
import subprocess

import aiosmtplib

from ddenterpriseapi.mail.raw import header_fields
from tests.helpers import MAILBOX, outbox_row, wait_for_status
from tests.relay.helpers import (
    HOST,
    PROGRAM,
    RECIPIENTS,
    REPORT,
    bare_message,
    client_context,
    connect,
    queued_id,
    run_coroutine,
)


def test_smtplib_over_starttls_delivers_the_message_byte_for_byte(relaying, oauth_app, pki):
    smtp, relay, login = relaying
    with connect(relay, pki, login) as client:
        outbox_id = queued_id(client, "jenkins@corp.example", RECIPIENTS, REPORT)
    row = wait_for_status(oauth_app, outbox_id, "sent")
    (received,) = smtp.wait_for_messages(1)
    assert received.data == REPORT  # every header in its order, the body untouched
    assert received.auth_mechanism == "XOAUTH2" and received.auth_login == MAILBOX[0]
    assert received.mail_from == "jenkins@corp.example" and received.rcpt_tos == RECIPIENTS
    assert row["origin"] == "relay" and row["message_id"] == "<nightly-42@build.corp.example>"
    assert row["subject"] == "Nightly build – OK" and row["submitted_by"].startswith(f"relay: {PROGRAM}, key ")


def test_a_message_without_message_id_or_date_gets_them_and_nothing_else_changes(relaying, oauth_app, pki):
    smtp, relay, login = relaying
    original = bare_message()
    with connect(relay, pki, login) as client:
        outbox_id = queued_id(client, "cron@corp.example", ["boss@example.org"], original)
    row = wait_for_status(oauth_app, outbox_id, "sent")
    received = smtp.wait_for_messages(1)[0].data
    names = [name for _start, _end, name in header_fields(received)]
    assert names[:2] == [b"message-id", b"date"] and received.endswith(original)
    assert received.split(b"\r\n", 1)[0].decode() == f"Message-ID: {row['message_id']}"


def test_aiosmtplib_with_auth_login_8bit_body_and_utf8_addresses(relaying, oauth_app, pki):
    smtp, relay, (program, key) = relaying
    sender, recipient = "zoë@exämple.org", "jürgen@beispiel.de"
    data = f"From: Zoë <{sender}>\r\nTo: {recipient}\r\nSubject: Grüße\r\nMessage-ID: <1@x>\r\nDate: Tue, 01 Dec " \
           "2026 06:00:01 +0000\r\n\r\nÇa marche, très bien.\r\n".encode()

    async def send() -> tuple:
        client = aiosmtplib.SMTP(hostname=HOST, port=relay.port, start_tls=True, tls_context=client_context(pki))
        async with client:
            await client.ehlo()  # again, after STARTTLS: AUTH is offered over TLS
            await client.auth_login(program, key)
            answer = await client.sendmail(sender, [recipient], data, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        await asyncio.sleep(0.2)  # the TLS shutdown ends before the loop does, or its socket is left unclosed
        return answer

    refused, reply = run_coroutine(send())
    assert refused == {} and reply.startswith("2.0.0 Queued as ")
    wait_for_status(oauth_app, int(reply.rsplit(" ", 1)[1]), "sent")
    (received,) = smtp.wait_for_messages(1)
    assert received.data == data and received.mail_from == sender and received.rcpt_tos == [recipient]


def test_swaks_with_starttls_and_auth(relaying, oauth_app, pki, tmp_path):
    smtp, relay, (program, key) = relaying
    result = subprocess.run(
        ["swaks", "--server", f"{HOST}:{relay.port}", "--tls", "--tls-verify", "--tls-ca-path", pki.ca_cert_path,
         "--auth", "PLAIN", "--auth-user", program, "--auth-password", key, "--from", "scanner@corp.example",
         "--to", "boss@example.org", "--header", "Subject: Scan finished", "--body", "3 pages."],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<~  250 2.0.0 Queued as " in result.stdout  # <~: a reply read over TLS
    outbox_id = int(result.stdout.split("Queued as ")[1].split()[0])
    assert outbox_row(oauth_app, outbox_id)["api_key_id"] is not None
    wait_for_status(oauth_app, outbox_id, "sent")
    (received,) = smtp.wait_for_messages(1)
    assert received.message["Subject"] == "Scan finished" and received.rcpt_tos == ["boss@example.org"]


def test_msmtp_as_cron_sendmail(relaying, oauth_app, pki, tmp_path):
    smtp, relay, (program, key) = relaying
    config = tmp_path / "msmtprc"
    config.write_text(f"account relay\nhost {HOST}\nport {relay.port}\ntls on\ntls_starttls on\n"
                      f"tls_trust_file {pki.ca_cert_path}\nauth on\nuser {program}\npassword {key}\n"
                      "from cron@corp.example\nlogfile -\naccount default : relay\n")
    config.chmod(0o600)  # msmtp refuses a configuration with a password that others can read
    message = bare_message(subject="Cron <root@build> backup", body="backup done")
    result = subprocess.run(["msmtp", "-C", str(config), "-t"], input=message, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    received = smtp.wait_for_messages(1, timeout=10)[0]
    assert received.message["Subject"] == "Cron <root@build> backup" and received.rcpt_tos == ["boss@example.org"]
    assert received.data.endswith(message) and received.message["Message-ID"]
