"""The relay in front of an HTTPS transport: a program's message, handed in over SMTP, leaves through the Gmail API
byte for byte, its hidden recipients named in a Bcc line the provider removes."""

from ddenterpriseapi.mail.server import save_mail_server
from tests.helpers import RunningWorker, wait_for_status
from tests.relay.helpers import RECIPIENTS, REPORT, connect, queued_id


def test_a_relayed_message_leaves_through_the_gmail_api_as_it_came(sending, start_relay, oauth_app, pki, gmail_api):
    smtp, key = sending
    with oauth_app.app_context():
        save_mail_server({"transport": "gmail_api"})
    relay = start_relay()
    with connect(relay, pki, ("jenkins", key)) as client:
        outbox_id = queued_id(client, "jenkins@corp.example", [*RECIPIENTS, "archive@example.org"], REPORT)
    worker = RunningWorker(oauth_app).start()
    try:
        wait_for_status(oauth_app, outbox_id, "sent")
    finally:
        worker.halt()
    [message] = gmail_api.wait_for_messages(1)
    assert message.raw == b"Bcc: archive@example.org\r\n" + REPORT and smtp.messages == []
    assert sorted(message.recipients) == sorted([*RECIPIENTS, "archive@example.org"])
