"""Microsoft Graph and the Gmail API as transports, against HTTPS stand-ins that check each bearer token with the test
authorization server (audience and scope) and keep the MIME they were given: the same bytes as SMTP, large messages
through the upload paths, Retry-After kept to, a token per resource, and queued mail kept across a switch."""

import base64
from datetime import UTC, datetime

import pytest

from ddenterpriseapi.extensions import current_runtime
from ddenterpriseapi.mail.sending import transport_for
from ddenterpriseapi.mail.server import get_mail_server, save_mail_server
from ddenterpriseapi.mail.smtp import Trace
from ddenterpriseapi.mail.transport import Envelope, deliver_all
from ddenterpriseapi.outbox.accept import sending_limits
from tests.helpers import (
    CLIENT,
    MAILBOX,
    create_api_key,
    outbox_row,
    post_mail,
    queue_mail,
    refreshes,
    save_oauth_settings,
    wait_for_status,
    worker_round,
)
from tests.servers.connect_proxy import ConnectProxy

GRAPH_SCOPE = "https://graph.microsoft.com/Mail.Send"
RELAYED = (  # a message as a program hands it in, with an attachment: every byte must arrive as it is
    b"From: Reports <" + MAILBOX[0].encode() + b">\r\n"
    b"To: boss@example.org\r\n"
    b"Subject: Daily report\r\n"
    b"Message-ID: <daily-1@example.com>\r\n"
    b"Date: Tue, 01 Dec 2026 06:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Totals attached.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/csv; name=\"totals.csv\"\r\n"
    b"Content-Disposition: attachment; filename=\"totals.csv\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + base64.encodebytes(b"day,total\r\n1,42\r\n") +
    b"--b1--\r\n"
)


def set_transport(app, transport: str) -> None:
    with app.app_context():
        save_mail_server({"transport": transport})


def deliver(app, data: bytes, recipients=("boss@example.org",)) -> Trace:
    """Hand ready bytes to the saved transport, as the outbox worker does."""
    trace = Trace()
    with app.app_context():
        envelope = Envelope(data, MAILBOX[0], list(recipients), "<daily-1@example.com>")
        deliver_all(transport_for(get_mail_server(), current_runtime()), [envelope], trace)
    return trace


def big_message(size: int) -> bytes:
    """RELAYED with an attachment of `size` random-looking bytes."""
    payload = bytes(range(256)) * (size // 256)
    return RELAYED.replace(b"--b1--\r\n", b"--b1\r\nContent-Type: application/pdf; name=\"big.pdf\"\r\n"
                           b"Content-Disposition: attachment; filename=\"big.pdf\"\r\n"
                           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload) + b"--b1--\r\n")


def graph_sign_in(microsoft, mail, make_smtp, oauth_app):
    """Delegated Microsoft sign-in with Graph as the transport, authorized after it was chosen: (smtp)."""
    smtp = make_smtp(microsoft.server)
    mail.save(smtp)
    set_transport(oauth_app, "graph")
    microsoft.connect("microsoft")
    return smtp


def test_gmail_api_carries_the_same_bytes_as_smtp(google, mail, make_smtp, gmail_api, oauth_app):
    google.connect()
    smtp = make_smtp(google.server, style="google")
    mail.save(smtp)
    deliver(oauth_app, RELAYED)
    set_transport(oauth_app, "gmail_api")
    trace = deliver(oauth_app, RELAYED)
    [through_api] = gmail_api.wait_for_messages(1)
    assert through_api.raw == smtp.messages[0].data == RELAYED
    assert through_api.mailbox == MAILBOX[0] and through_api.via == "json"
    steps = [step["step"] for step in trace.steps]
    assert steps == ["token", "request", "answer"] and through_api.provider_id in trace.steps[-1]["detail"]


def test_graph_carries_the_same_bytes_as_smtp_with_its_own_token(microsoft, mail, make_smtp, graph_api, oauth_app):
    smtp = graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    deliver(oauth_app, RELAYED)
    [through_api] = graph_api.wait_for_messages(1)
    assert through_api.raw == RELAYED and through_api.via == "sendMail"
    set_transport(oauth_app, "smtp")
    deliver(oauth_app, RELAYED)
    assert smtp.messages[0].data == RELAYED
    # Each server saw a token for its own resource: the authorization's for SMTP, a refresh for Graph's.
    graph_tokens = {request.headers["Authorization"].removeprefix("Bearer ") for request in graph_api.requests}
    assert {microsoft.server.token_info(token).resource for token in graph_tokens} == {"https://graph.microsoft.com"}
    assert [call["scope"] for call in refreshes(microsoft.server)] == [f"{GRAPH_SCOPE} offline_access"]


def test_tokens_are_cached_per_resource(microsoft, mail, make_smtp, graph_api, oauth_app):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    for _ in range(3):
        deliver(oauth_app, RELAYED)
        set_transport(oauth_app, "smtp")
        deliver(oauth_app, RELAYED)
        set_transport(oauth_app, "graph")
    assert len(graph_api.wait_for_messages(3)) == 3
    assert len(refreshes(microsoft.server)) == 1  # one Graph token, kept; the SMTP one from the authorization


def test_hidden_recipients_reach_the_api_as_bcc(google, mail, make_smtp, gmail_api, oauth_app):
    google.connect()
    mail.save(make_smtp(google.server, style="google"))
    set_transport(oauth_app, "gmail_api")
    deliver(oauth_app, RELAYED, recipients=["boss@example.org", "auditor@example.org"])
    [message] = gmail_api.wait_for_messages(1)
    assert message.raw == b"Bcc: auditor@example.org\r\n" + RELAYED
    assert sorted(message.recipients) == ["auditor@example.org", "boss@example.org"]


def test_a_large_message_goes_through_graph_upload_sessions(microsoft, mail, make_smtp, graph_api, oauth_app):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    data = big_message(5 * 1024 * 1024)
    trace = deliver(oauth_app, data)
    [message] = graph_api.wait_for_messages(1)
    assert message.via == "upload"
    [(name, content_type, content)] = message.attachments
    assert (name, content_type, content) == ("big.pdf", "application/pdf", bytes(range(256)) * (5 * 1024 * 1024 // 256))
    assert len(graph_api.upload_chunks) == 2 and max(graph_api.upload_chunks) <= 4 * 1024 * 1024
    assert b"Message-ID: <daily-1@example.com>" in message.raw and b"totals.csv" in message.raw
    assert [step["step"] for step in trace.steps] == ["token", "request", "upload", "answer"]


def test_a_large_message_goes_through_a_gmail_resumable_upload(google, mail, make_smtp, gmail_api, oauth_app):
    google.connect()
    mail.save(make_smtp(google.server, style="google"))
    set_transport(oauth_app, "gmail_api")
    data = big_message(7 * 1024 * 1024)  # 9.5 MB once in base64: two chunks of the upload
    deliver(oauth_app, data)
    [message] = gmail_api.wait_for_messages(1)
    assert message.via == "resumable" and message.raw == data
    assert [request.method for request in gmail_api.requests] == ["POST", "PUT", "PUT"]


def test_the_outbox_delivers_through_graph(microsoft, mail, make_smtp, graph_api, oauth_app, admin_client):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    key = create_api_key(admin_client)
    answer = post_mail(admin_client, key, {"to": ["boss@example.org"], "subject": "Daily report", "text": "Hello",
                                           "attachments": [{"filename": "totals.csv", "content_type": "text/csv",
                                                            "content": base64.b64encode(b"1,42").decode()}]})
    assert answer.status_code == 202
    worker_round(oauth_app)
    row = wait_for_status(oauth_app, answer.json["id"], "sent")
    [message] = graph_api.wait_for_messages(1)
    assert f"Message-ID: {answer.json['message_id']}".encode() in message.raw
    assert row["last_reply"].startswith("202 Accepted request-id=") and message.provider_id in row["last_reply"]


def test_a_429_defers_exactly_as_long_as_retry_after_says(microsoft, mail, make_smtp, graph_api, oauth_app,
                                                          admin_client):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    key = create_api_key(admin_client)
    first, second = queue_mail(admin_client, key), queue_mail(admin_client, key, subject="Second")
    graph_api.fail_next(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                        retry_after=120)
    before = datetime.now(UTC)
    worker_round(oauth_app)
    row = outbox_row(oauth_app, first)
    assert row["status"] == "deferred" and row["last_reply"].startswith("429 ApplicationThrottled")
    assert "wait 120 s" in row["last_error"]
    waited = (row["next_attempt_at"].replace(tzinfo=UTC) - before).total_seconds()
    assert 119 <= waited <= 125
    untried = outbox_row(oauth_app, second)  # the rest of the batch waits as well, not tried meanwhile
    assert untried["status"] == "queued" and untried["attempts"] == 0
    assert (untried["next_attempt_at"].replace(tzinfo=UTC) - before).total_seconds() >= 119
    assert len(graph_api.requests) == 1


def test_a_503_defers_and_the_message_goes_once_graph_recovers(microsoft, mail, make_smtp, graph_api, oauth_app,
                                                               admin_client, worker):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    graph_api.fail_next(503, "ServiceUnavailable", "Service Unavailable", count=1)
    message = queue_mail(admin_client, create_api_key(admin_client))
    row = wait_for_status(oauth_app, message, "sent")
    assert row["attempts"] == 2 and len(graph_api.wait_for_messages(1)) == 1


def test_a_message_graph_refuses_fails_with_the_fix(microsoft, mail, make_smtp, graph_api, oauth_app, admin_client):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    key = create_api_key(admin_client)
    message = queue_mail(admin_client, key, **{"from": "sales@example.com"})
    worker_round(oauth_app)
    row = outbox_row(oauth_app, message)
    assert row["status"] == "failed" and row["last_reply"].startswith("403 ErrorSendAsDenied")
    assert "Add-RecipientPermission" in row["last_error"]


def test_graph_without_consent_holds_mail_until_authorized(microsoft, mail, make_smtp, graph_api, oauth_app,
                                                          admin_client):
    microsoft.connect("microsoft")  # authorized for SMTP only
    mail.save(make_smtp(microsoft.server))
    set_transport(oauth_app, "graph")
    message = queue_mail(admin_client, create_api_key(admin_client))
    worker_round(oauth_app)
    row = outbox_row(oauth_app, message)
    assert row["status"] == "held" and GRAPH_SCOPE in row["last_error"] and "Authorize" in row["last_error"]
    assert graph_api.requests == [] and refreshes(microsoft.server) == []
    microsoft.connect("microsoft")  # Authorize now asks for Graph's permission too
    worker_round(oauth_app)
    worker_round(oauth_app)
    assert wait_for_status(oauth_app, message, "sent")["attempts"] == 1


def test_queued_mail_survives_a_switch_of_transport(microsoft, mail, make_smtp, graph_api, oauth_app, admin_client):
    smtp = graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    set_transport(oauth_app, "smtp")
    smtp.disable_smtp_auth()  # the tenant turns SMTP AUTH off: 535 5.7.139
    key = create_api_key(admin_client)
    messages = [queue_mail(admin_client, key, subject=f"Report {n}") for n in range(3)]
    worker_round(oauth_app)
    rows = [outbox_row(oauth_app, message) for message in messages]
    assert {row["status"] for row in rows} == {"held"} and "5.7.139" in rows[0]["last_reply"]
    set_transport(oauth_app, "graph")
    worker_round(oauth_app)
    assert {wait_for_status(oauth_app, message, "sent")["status"] for message in messages} == {"sent"}
    assert sorted(m.raw.split(b"Subject: ")[1][:8] for m in graph_api.wait_for_messages(3)) == [
        b"Report 0", b"Report 1", b"Report 2"]


def test_application_sign_in_sends_through_graph_with_the_mail_send_role(microsoft_server, graph_api, oauth_app,
                                                                        mail, make_smtp):
    save_oauth_settings(oauth_app, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                        client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=MAILBOX[0])
    mail.save(make_smtp(microsoft_server))
    set_transport(oauth_app, "graph")
    microsoft_server.grant_app_permission(CLIENT[0], "Mail.Send")
    deliver(oauth_app, RELAYED)
    [message] = graph_api.wait_for_messages(1)
    assert message.raw == RELAYED and message.mailbox == MAILBOX[0]
    [call] = microsoft_server.app_token_requests()
    assert call["scope"] == "https://graph.microsoft.com/.default"


def test_application_sign_in_without_the_role_is_told_to_grant_it(microsoft_server, graph_api, oauth_app, mail,
                                                                   make_smtp, admin_client):
    save_oauth_settings(oauth_app, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                        client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=MAILBOX[0])
    mail.save(make_smtp(microsoft_server))
    set_transport(oauth_app, "graph")
    message = queue_mail(admin_client, create_api_key(admin_client))
    worker_round(oauth_app)
    row = outbox_row(oauth_app, message)
    assert row["status"] == "held" and row["last_reply"].startswith("403 ErrorAccessDenied")
    assert "Application > Mail.Send" in row["last_error"]


@pytest.mark.parametrize("status, code, retry_after, outcome, fix", [
    (403, "insufficientPermissions", None, "held", "domain-wide delegation"),
    (429, "rateLimitExceeded", 30, "deferred", "slow down"),
    (400, "invalidArgument", None, "failed", "malformed"),
    (413, "uploadTooLarge", None, "failed", "larger than the API accepts"),
    (503, "backendError", None, "deferred", ""),
])
def test_gmail_api_refusals_are_explained_and_classified(google, mail, make_smtp, gmail_api, oauth_app, admin_client,
                                                         status, code, retry_after, outcome, fix):
    google.connect()
    mail.save(make_smtp(google.server, style="google"))
    set_transport(oauth_app, "gmail_api")
    gmail_api.fail_next(status, code, "As the Gmail API words it.", retry_after=retry_after)
    message = queue_mail(admin_client, create_api_key(admin_client))
    worker_round(oauth_app)
    row = outbox_row(oauth_app, message)
    assert row["status"] == outcome and row["last_reply"] == f"{status} {code} (As the Gmail API words it.)"
    assert row["last_error"].startswith(f"Gmail API answered {status} {code}") and fix in row["last_error"]


def test_a_mailbox_graph_cannot_send_from_waits_for_an_administrator(microsoft, mail, make_smtp, graph_api, oauth_app,
                                                                     admin_client):
    graph_sign_in(microsoft, mail, make_smtp, oauth_app)
    graph_api.disable_rest(MAILBOX[0])
    message = queue_mail(admin_client, create_api_key(admin_client))
    worker_round(oauth_app)
    row = outbox_row(oauth_app, message)
    assert row["status"] == "held" and row["last_reply"].startswith("404 MailboxNotEnabledForRESTAPI")
    assert "Use SMTP for it" in row["last_error"]


def test_the_size_limit_is_the_transports(app):
    save_oauth_settings(app, provider="microsoft")
    with app.app_context():
        runtime = current_runtime()
        mail = get_mail_server()
        mail.transport = "graph"
        with_graph = sending_limits(runtime, mail)
        mail.transport = "smtp"
        with_smtp = sending_limits(runtime, mail)
    assert (with_graph.max_message_bytes, with_smtp.max_message_bytes) == (150 * 2**20, 35 * 2**20)


def test_an_https_proxy_of_the_environment_carries_the_api_calls(google, mail, make_smtp, gmail_api, oauth_app,
                                                                  monkeypatch):
    """Where only HTTPS leaves, it often leaves through a proxy: the transport takes HTTPS_PROXY, TLS end to end."""
    google.connect()
    mail.save(make_smtp(google.server, style="google"))
    set_transport(oauth_app, "gmail_api")
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        deliver(oauth_app, RELAYED)
    assert gmail_api.wait_for_messages(1)[0].raw == RELAYED
    assert proxy.tunnels == [gmail_api.base_url.removeprefix("https://")]
