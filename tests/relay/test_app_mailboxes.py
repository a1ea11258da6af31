"""The relay under app-only sign-in: a relayed message goes out as the mailbox of its From address, as the default
mailbox with its sender in Reply-To, or is refused with 550 and not stored."""

import smtplib

import pytest

from tests.helpers import outbox_count, sign_in_as_application, stored_message
from tests.relay.helpers import RECIPIENTS, REPORT, connect, queued_id


def test_the_relay_refuses_an_unlisted_sender_with_550(sending, start_relay, oauth_app, pki):
    _smtp, key = sending
    sign_in_as_application(oauth_app)
    relay = start_relay()
    before = outbox_count(oauth_app)
    with connect(relay, pki, ("jenkins", key)) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("jenkins@corp.example", RECIPIENTS, REPORT)
    assert refused.value.smtp_code == 550
    assert b"5.7.1 jenkins@corp.example is not one of the mailboxes" in refused.value.smtp_error
    assert outbox_count(oauth_app) == before


def test_the_relay_sends_an_unlisted_sender_as_the_default_mailbox(sending, start_relay, oauth_app, pki):
    _smtp, key = sending
    sign_in_as_application(oauth_app, unlisted_sender="default_mailbox")
    relay = start_relay()
    with connect(relay, pki, ("jenkins", key)) as client:
        outbox_id = queued_id(client, "jenkins@corp.example", RECIPIENTS, REPORT)
    row, _message = stored_message(oauth_app, outbox_id)
    rewritten = (b'From: Jenkins CI <reports@example.com>\r\n'
                 + b'Reply-To: "Jenkins CI" <jenkins@corp.example>\r\n')
    assert row["body"] == REPORT.replace(b'From: "Jenkins CI" <jenkins@corp.example>\r\n', rewritten)
    assert row["sender"] == "reports@example.com"


def test_the_relay_routes_by_the_from_address_not_the_envelope(sending, start_relay, oauth_app, pki):
    _smtp, key = sending
    sign_in_as_application(oauth_app, mailboxes=["reports@example.com", "jenkins@corp.example"])
    relay = start_relay()
    with connect(relay, pki, ("jenkins", key)) as client:
        outbox_id = queued_id(client, "bounces@corp.example", RECIPIENTS, REPORT)
    row, _message = stored_message(oauth_app, outbox_id)
    assert row["sender"] == "jenkins@corp.example" and row["body"] == REPORT
