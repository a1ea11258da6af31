"""The sender of relayed messages: kept as the program wrote it (a refusal such as Microsoft's SendAsDenied then
says what to do), or the mailbox's, the program's address kept in Reply-To."""

from tests.helpers import MAILBOX, wait_for_status
from tests.relay.helpers import RECIPIENTS, REPORT, connect, queued_id

SEND_AS_DENIED = ("554 5.2.252 SendAsDenied; reports@example.com not allowed to send as jenkins@corp.example; "
                  "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied")
ORIGINAL_FROM = b'From: "Jenkins CI" <jenkins@corp.example>\r\n'


def test_a_refused_sender_is_explained_with_the_fix(relaying, oauth_app, admin_client, pki):
    smtp, relay, (program, key) = relaying
    smtp.reply_to_data(SEND_AS_DENIED)
    with connect(relay, pki, (program, key)) as client:
        outbox_id = queued_id(client, "jenkins@corp.example", RECIPIENTS, REPORT)
    row = wait_for_status(oauth_app, outbox_id, "failed")
    assert "SendAsDenied" in row["last_reply"] and "Grant the mailbox Send As" in row["last_error"]
    api = admin_client.application.test_client()  # the key's messages, relayed ones included
    status = api.get(f"/ddenterpriseapi/v2/mail/{outbox_id}", headers={"Authorization": f"Bearer {key}"})
    assert status.json["status"] == "failed" and "send as the mailbox on the Email server page" in status.json["error"]


def test_sending_as_the_mailbox_keeps_the_program_in_reply_to(relaying, oauth_app, mail, pki):
    smtp, relay, login = relaying
    saved = mail.save(smtp, sender_name="Reports", relay_sender="mailbox")
    assert saved.status_code == 302
    with connect(relay, pki, login) as client:
        outbox_id = queued_id(client, "jenkins@corp.example", RECIPIENTS, REPORT)
    row = wait_for_status(oauth_app, outbox_id, "sent")
    (received,) = smtp.wait_for_messages(1)
    rewritten = (f'From: Jenkins CI <{MAILBOX[0]}>\r\n'.encode()
                 + b'Reply-To: "Jenkins CI" <jenkins@corp.example>\r\n')
    assert received.data == REPORT.replace(ORIGINAL_FROM, rewritten)  # only the From line changed
    assert received.mail_from == MAILBOX[0] == row["sender"] and received.rcpt_tos == RECIPIENTS
