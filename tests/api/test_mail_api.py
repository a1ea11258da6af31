"""The mail API: messages accepted into the outbox (202), their status, keys, payloads, idempotency."""

import base64
import re

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import ApiKey, OutboxMessage
from tests.helpers import MAILBOX, create_api_key, csrf_from, outbox_row, post_mail, wait_for_status

URL = "/ddenterpriseapi/v2/mail"
KEYS = "/ddenterpriseapi/configuration/api-keys"
ATTACHMENT = {"filename": "report.txt", "content_type": "text/plain", "content": base64.b64encode(b"hi").decode()}


@pytest.fixture
def ready(sending, worker):
    return sending


def test_send_with_attachment_cc_and_bcc(ready, admin_client):
    smtp, key = ready
    anon = admin_client.application.test_client()
    response = post_mail(anon, key, {
        "to": ["a@example.org"], "cc": ["b@example.org"], "bcc": ["hidden@example.org"],
        "subject": "Rapport trimestriel – été", "text": "Bonjour", "html": "<p>Bonjour</p>",
        "attachments": [{"filename": "report.csv", "content_type": "text/csv",
                         "content": base64.b64encode(b"a,b\n1,2\n").decode()}],
    })
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued" and response.headers["Location"].endswith(f"/mail/{response.json['id']}")
    (received,) = smtp.wait_for_messages(1)
    message = received.message
    assert response.json["message_id"] == message["Message-ID"]
    assert sorted(received.rcpt_tos) == ["a@example.org", "b@example.org", "hidden@example.org"]
    assert "hidden@example.org" not in received.data.decode()
    assert message["Subject"] == "Rapport trimestriel – été"
    assert str(message["From"]) == f"Reports <{MAILBOX[0]}>"
    assert message.get_body(("plain",)).get_content().strip() == "Bonjour"
    assert message.get_body(("html",)).get_content().strip() == "<p>Bonjour</p>"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.csv" and attachment.get_content() == "a,b\n1,2\n"


def test_several_messages_share_one_connection(ready, admin_client):
    smtp, key = ready
    before = smtp.connections
    body = {"messages": [{"to": [f"user{i}@example.org"], "subject": f"n{i}", "text": "x"} for i in range(5)]}
    response = post_mail(admin_client, key, body)
    assert response.status_code == 202 and [answer["status"] for answer in response.json] == ["queued"] * 5
    received = smtp.wait_for_messages(5)
    assert smtp.connections - before == 1 and len({message.connection for message in received}) == 1


def test_missing_unknown_and_revoked_keys(ready, admin_client):
    _, key = ready
    body = {"to": ["a@example.org"], "subject": "s", "text": "t"}
    assert post_mail(admin_client, None, body).status_code == 401
    assert post_mail(admin_client, "dde_not-a-key", body).json["error"] == "Unknown or revoked API key."
    page = admin_client.get(KEYS)
    key_id = re.search(r'api-keys/(\d+)/revoke', page.get_data(as_text=True)).group(1)
    admin_client.post(f"{KEYS}/{key_id}/revoke", data={"csrf_token": csrf_from(page)})
    assert post_mail(admin_client, key, body).status_code == 401


def test_keys_are_shown_once_and_stored_hashed(ready, admin_client, oauth_app):
    _, key = ready
    assert key not in admin_client.get(KEYS).get_data(as_text=True)
    with oauth_app.app_context():
        stored = db.session.scalars(db.select(ApiKey)).one()
        assert stored.key_hash != key and key not in stored.key_hash and key.startswith(stored.prefix)


@pytest.mark.parametrize("body, field", [
    ({"to": ["not an address"], "subject": "s", "text": "t"}, "to"),
    ({"to": ["a@example.org"], "subject": "Hi\r\nBcc: victim@example.org", "text": "t"}, "subject"),
    ({"to": ["a@example.org\r\nBcc: victim@example.org"], "subject": "s", "text": "t"}, "to"),
    ({"to": ["a@example.org"], "subject": "s"}, "text"),
    ({"to": [], "subject": "s", "text": "t"}, "to"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t", "colour": "red"}, "colour"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t",
      "attachments": [{"filename": "x", "content": "***"}]}, "attachments[0]"),
    ({"to": "a@example.org", "subject": 5, "text": "t"}, "subject"),
    ({"messages": []}, "messages"),
    *[({"to": ["a@example.org"], "subject": f"Hi{separator}Bcc: victim@example.org", "text": "t"}, "subject")
      for separator in ("\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")],
    ({"to": ["a@example.org"], "from_name": "Reports\u2028Bcc: x", "subject": "s", "text": "t"}, "from_name"),
    ({"to": ["a@example.org\x85"], "subject": "s", "text": "t"}, "to"),
    ({"to": ["a@example.org"], "reply_to": "b@example.org\u2029", "subject": "s", "text": "t"}, "reply_to"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t", "attachments": [ATTACHMENT | {"filename": "a\x0bb.txt"}]},
     "attachments[0].filename"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t",
      "attachments": [ATTACHMENT | {"content_type": "text/plain\r\nX-Injected: 1"}]}, "attachments[0].content_type"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t",
      "attachments": [ATTACHMENT | {"content_type": 'text/plain; name="evil.exe"'}]}, "attachments[0].content_type"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t",
      "attachments": [ATTACHMENT | {"content_type": "text/plain\u2028"}]}, "attachments[0].content_type"),
    ({"to": ["a@example.org"], "subject": "s", "text": "t", "attachments": [ATTACHMENT] * 20_000}, "attachments"),
])
def test_invalid_payloads(ready, admin_client, body, field):
    smtp, key = ready
    response = post_mail(admin_client, key, body)
    assert response.status_code == 422 and response.json["field"] == field and response.json["error"]
    assert smtp.messages == []


def test_attachments_per_message_follow_max_attachments(ready, admin_client, oauth_app):
    smtp, key = ready
    oauth_app.config["MAX_ATTACHMENTS"] = 2  # read by the view at each request
    body = {"to": ["a@example.org"], "subject": "s", "text": "t"}
    refused = post_mail(admin_client, key, body | {"attachments": [ATTACHMENT] * 3})
    assert refused.status_code == 422 and refused.json["field"] == "attachments"
    assert "At most 2 attachments" in refused.json["error"]
    assert post_mail(admin_client, key, body | {"attachments": [ATTACHMENT] * 2}).status_code == 202
    (received,) = smtp.wait_for_messages(1)
    assert len(list(received.message.iter_attachments())) == 2


def test_not_json(ready, admin_client):
    _, key = ready
    response = admin_client.post(URL, data="to=a", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400 and "must be JSON" in response.json["error"]


def test_oversized_request(ready, admin_client, oauth_app):
    smtp, key = ready
    oauth_app.config["MAX_CONTENT_LENGTH"] = 1000
    response = post_mail(admin_client, key, {"to": ["a@example.org"], "subject": "s", "text": "x" * 2000})
    assert response.status_code == 413 and "error" in response.json
    assert smtp.messages == []


def test_accepted_while_the_server_is_down_and_delivered_when_it_is_back(ready, admin_client, oauth_app):
    smtp, key = ready
    smtp.stop_listening()
    accepted = post_mail(admin_client, key, {"to": ["a@example.org"], "subject": "s", "text": "t"}).json
    row = wait_for_status(oauth_app, accepted["id"], "deferred")
    assert "refused the connection" in row["last_error"] and row["next_attempt_at"] is not None
    status = get_status(admin_client, key, accepted["id"]).json
    assert status["status"] == "deferred" and status["attempts"] >= 1 and status["next_attempt_at"]
    smtp.resume()
    row = wait_for_status(oauth_app, accepted["id"], "sent")
    assert row["last_reply"].startswith("250") and row["body"] is None
    assert smtp.wait_for_messages(1)[0].message["Message-ID"] == accepted["message_id"]


def test_status_waits_for_a_final_answer(ready, admin_client):
    smtp, key = ready
    accepted = post_mail(admin_client, key, {"to": ["a@example.org"], "subject": "s", "text": "t"}).json
    status = get_status(admin_client, key, accepted["id"], wait=30).json
    assert status["status"] == "sent" and status["reply"].startswith("250") and status["sent_at"]
    assert status["attempts"] == 1 and status["message_id"] == accepted["message_id"]


def test_a_key_sees_only_its_own_messages(ready, admin_client):
    _, key = ready
    accepted = post_mail(admin_client, key, {"to": ["a@example.org"], "subject": "s", "text": "t"}).json
    other = create_api_key(admin_client, "another-program")
    assert get_status(admin_client, other, accepted["id"]).status_code == 404
    assert get_status(admin_client, key, 999999).status_code == 404
    assert get_status(admin_client, None, accepted["id"]).status_code == 401


def test_the_same_idempotency_key_creates_one_message(ready, admin_client, oauth_app):
    smtp, key = ready
    body = {"to": ["a@example.org"], "subject": "once", "text": "t"}
    first = post_mail(admin_client, key, body, headers={"Idempotency-Key": "report-2026-12-01"})
    again = post_mail(admin_client, key, body, headers={"Idempotency-Key": "report-2026-12-01"})
    assert first.status_code == again.status_code == 202 and first.json == again.json
    changed = post_mail(admin_client, key, body | {"subject": "twice"},
                        headers={"Idempotency-Key": "report-2026-12-01"})
    assert changed.status_code == 409 and "another request body" in changed.json["error"]
    other = post_mail(admin_client, key, body, headers={"Idempotency-Key": "report-2026-12-02"})
    assert other.status_code == 202 and other.json["id"] != first.json["id"]
    with oauth_app.app_context():
        assert db.session.query(OutboxMessage).count() == 2


def test_an_unusable_idempotency_key_is_refused(ready, admin_client):
    _, key = ready
    body = {"to": ["a@example.org"], "subject": "s", "text": "t"}
    response = post_mail(admin_client, key, body, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400 and response.json["field"] == "Idempotency-Key"


def test_accepted_means_stored_encrypted(ready, admin_client, oauth_app):
    _, key = ready
    body = {"to": ["a@example.org"], "subject": "s", "text": "A secret report"}
    accepted = post_mail(admin_client, key, body).json
    with oauth_app.app_context():
        raw = db.session.execute(db.text("SELECT body FROM outbox_message WHERE id = :id"),
                                 {"id": accepted["id"]}).scalar()
    assert raw is None or b"A secret report" not in raw.encode()  # sent and dropped, or still there, encrypted


def test_too_many_recipients_for_the_provider_are_refused_at_once(ready, admin_client):
    smtp, key = ready
    body = {"to": [f"user{i}@example.org" for i in range(101)], "subject": "s", "text": "t"}
    response = post_mail(admin_client, key, body)
    assert response.status_code == 422 and response.json["field"] == "to" and "At most 100" in response.json["error"]


def test_api_needs_no_session_or_csrf(ready, oauth_app):
    smtp, key = ready
    response = post_mail(oauth_app.test_client(), key, {"to": ["a@example.org"], "subject": "s", "text": "t"})
    assert response.status_code == 202


def test_without_a_sender_or_an_authorized_account_the_from_field_is_asked_for(admin_client, oauth_app):
    key = create_api_key(admin_client)
    response = post_mail(admin_client, key, {"to": ["a@example.org"], "subject": "s", "text": "t"})
    assert response.status_code == 422 and response.json["field"] == "from"
    accepted = post_mail(admin_client, key, {"from": "reports@example.com", "to": ["a@example.org"], "subject": "s",
                                        "text": "t"})
    assert accepted.status_code == 202 and outbox_row(oauth_app, accepted.json["id"])["status"] == "queued"


def get_status(client, key, message_id, **query):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(f"{URL}/{message_id}", headers=headers, query_string=query)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/ddenterpriseapi/v2/mail", 405),
    ("POST", "/ddenterpriseapi/v2/mail/", 404),
    ("GET", "/ddenterpriseapi/v2/nothing-here", 404),
    ("DELETE", "/ddenterpriseapi/v2/mail/1", 405),
    ("GET", "/ddenterpriseapi/v2", 404),
])
def test_every_answer_under_v2_is_json(client, method, path, status):  # before setup too: no redirect to it
    response = client.open(path, method=method, headers={"Authorization": "Bearer dde_any"})
    assert response.status_code == status and response.is_json and response.json["error"]
    assert status != 405 or "Allow" in response.headers


def test_the_oauth_callback_stays_a_page_for_the_browser(auth, client):
    response = client.post("/ddenterpriseapi/v2/oauth/redirect")
    assert response.status_code == 405 and response.mimetype == "text/html"
