"""Self-tests of the Graph and Gmail API stand-ins over real HTTPS, with tokens from real OAuth test servers."""

import base64
import re
from email.message import EmailMessage

import pytest
import requests

from tests.servers.app_credentials import service_account
from tests.servers.mail_apis import GmailApiTestServer, GraphTestServer
from tests.servers.oauth_server import OAuthTestServer
from tests.servers.test_oauth_server import CLIENT_ID, EMAIL, app_token, authorize, jwt_bearer, make_server, redeem

GRAPH_SEND = "https://graph.microsoft.com/Mail.Send"
SHARED = "shared@example.com"
REPORTS = "reports@example.com"


@pytest.fixture
def microsoft_oauth():
    with make_server("microsoft") as server:
        yield server


@pytest.fixture
def google_oauth():
    with make_server("google") as server:
        yield server


@pytest.fixture
def graph(microsoft_oauth, pki):
    with GraphTestServer(microsoft_oauth, pki) as server:
        yield server


@pytest.fixture
def gmail(google_oauth, pki):
    with GmailApiTestServer(google_oauth, pki) as server:
        yield server


@pytest.fixture
def http(pki):
    """A requests session trusting the test CA only (REQUESTS_CA_BUNDLE would override its verify otherwise)."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = pki.ca_cert_path
        yield session


def person_token(oauth: OAuthTestServer, scope: str) -> str:
    """A delegated access token of EMAIL for scope, through consent and code redemption."""
    code, verifier = authorize(oauth, scope=scope)
    with requests.Session() as http:
        return redeem(http, oauth, code, verifier).json()["access_token"]


def mime(sender: str = EMAIL, to: str | None = "bob@example.net", cc: str | None = None, bcc: str | None = None,
         body: str = "Hello.\n") -> bytes:
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = sender, "Report", "<m-1@example.com>"
    for name, value in (("To", to), ("Cc", cc), ("Bcc", bcc)):
        if value:
            message[name] = value
    message.set_content(body)
    return message.as_bytes()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- Microsoft Graph -------------------------------------------------------------------------------------------------

def send_mail(http, graph, token, raw=None, mailbox=EMAIL, **headers):
    body = base64.encodebytes(mime() if raw is None else raw)  # with line breaks: Graph accepts them
    return http.post(f"{graph.base_url}/v1.0/users/{mailbox}/sendMail", data=body, timeout=5,
                     headers={**bearer(token), "Content-Type": "text/plain", **headers})


def graph_error(response) -> tuple[int, str, str]:
    return response.status_code, response.json()["error"]["code"], response.json()["error"]["message"]


def test_graph_send_mail_with_a_persons_token(graph, microsoft_oauth, http):
    token = person_token(microsoft_oauth, f"{GRAPH_SEND} offline_access")
    raw = mime(to="bob@example.net, Carol <carol@example.net>", cc="dan@example.net", bcc="eve@example.net")
    response = send_mail(http, graph, token, raw, mailbox=EMAIL.upper(), **{"client-request-id": "abc"})
    assert (response.status_code, response.content) == (202, b"")
    assert response.headers["client-request-id"] == "abc"
    [message] = graph.wait_for_messages(1)
    assert (message.mailbox, message.raw, message.via) == (EMAIL.upper(), raw, "sendMail")
    assert message.recipients == ["bob@example.net", "carol@example.net", "dan@example.net", "eve@example.net"]
    assert message.provider_id == response.headers["request-id"] and message.attachments == []
    assert graph.requests[0].method == "POST" and graph.requests[0].path == f"/v1.0/users/{EMAIL.upper()}/sendMail"
    assert graph.requests[0].headers["authorization"] == f"Bearer {token}"
    assert re.fullmatch(r"[0-9a-f-]{36}", send_mail(http, graph, token).headers["client-request-id"])


def test_graph_refuses_tokens_it_cannot_take(graph, microsoft_oauth, http):
    empty = send_mail(http, graph, "")
    assert graph_error(empty) == (401, "InvalidAuthenticationToken", "Access token is empty.")
    assert empty.headers["WWW-Authenticate"].startswith("Bearer ")
    smtp_token = person_token(microsoft_oauth, "https://outlook.office.com/SMTP.Send")
    assert graph_error(send_mail(http, graph, smtp_token)) == (
        401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    read_only = person_token(microsoft_oauth, "https://graph.microsoft.com/User.Read")
    denied = (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    assert graph_error(send_mail(http, graph, read_only)) == denied
    token = person_token(microsoft_oauth, GRAPH_SEND)
    assert graph_error(send_mail(http, graph, token, mailbox=SHARED)) == denied
    microsoft_oauth.expire_access_tokens()
    assert graph_error(send_mail(http, graph, token)) == (
        401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
    assert graph.messages == []


def test_graph_app_token_needs_the_mail_send_role(graph, microsoft_oauth, http):
    without = app_token(http, microsoft_oauth, scope="https://graph.microsoft.com/.default").json()["access_token"]
    assert graph_error(send_mail(http, graph, without, mailbox=REPORTS))[:2] == (403, "ErrorAccessDenied")
    microsoft_oauth.grant_app_permission(CLIENT_ID, "Mail.Send")
    token = app_token(http, microsoft_oauth, scope="https://graph.microsoft.com/.default").json()["access_token"]
    assert send_mail(http, graph, token, mime(sender=REPORTS), mailbox=REPORTS).status_code == 202
    assert graph.messages[0].mailbox == REPORTS


def test_graph_refuses_bad_messages(graph, microsoft_oauth, pki, http):
    token = person_token(microsoft_oauth, GRAPH_SEND)
    url = f"{graph.base_url}/v1.0/users/{EMAIL}/sendMail"
    garbage = http.post(url, data="not base64!", headers={**bearer(token), "Content-Type": "text/plain"}, timeout=5)
    assert graph_error(garbage)[:2] == (400, "ErrorMimeContentInvalidBase64String")
    assert graph_error(send_mail(http, graph, token, mime(to=None)))[:2] == (400, "ErrorInvalidRecipients")
    assert graph_error(send_mail(http, graph, token, mime(sender=SHARED))) == (
        403, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right "
        "to send mail on behalf of the specified sending account.")
    graph.grant_send_as(EMAIL, SHARED.upper())
    assert send_mail(http, graph, token, mime(sender=SHARED)).status_code == 202
    with GraphTestServer(microsoft_oauth, pki, request_limit=1000) as small:
        assert graph_error(send_mail(http, small, token, mime(body="x" * 1000))) == (
            413, "RequestBodyTooLarge", "The maximum request length supported is 4MB.")


def test_graph_disabled_mailbox_and_injected_failures_until_heal(graph, microsoft_oauth, http):
    token = person_token(microsoft_oauth, GRAPH_SEND)
    graph.disable_rest(EMAIL.upper())
    assert graph_error(send_mail(http, graph, token)) == (
        404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    graph.heal()
    graph.fail_next(429, "ApplicationThrottled", "Too many requests.", retry_after=7, count=2)
    for _ in range(2):
        throttled = send_mail(http, graph, token)
        assert throttled.json() == {"error": {"code": "ApplicationThrottled", "message": "Too many requests."}}
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
    assert send_mail(http, graph, token).status_code == 202


def test_graph_outage_on_the_same_port(graph, microsoft_oauth, http):
    token = person_token(microsoft_oauth, GRAPH_SEND)
    base_url = graph.base_url
    graph.stop_listening()
    with pytest.raises(requests.ConnectionError):
        send_mail(http, graph, token)
    graph.heal()
    assert graph.base_url == base_url and send_mail(http, graph, token).status_code == 202


def upload_session(http, graph, token, draft_id, size, name="report.pdf"):
    item = {"attachmentType": "file", "name": name, "size": size, "contentType": "application/pdf"}
    return http.post(f"{graph.base_url}/v1.0/users/{EMAIL}/messages/{draft_id}/attachments/createUploadSession",
                     json={"AttachmentItem": item}, headers=bearer(token), timeout=5)


def put_chunk(http, upload_url, data: bytes, start: int, total: int, **headers):
    content_range = f"bytes {start}-{start + len(data) - 1}/{total}"
    return http.put(upload_url, data=data, headers={"Content-Range": content_range, **headers}, timeout=5)


def test_graph_draft_with_an_uploaded_attachment(graph, microsoft_oauth, http):
    token = person_token(microsoft_oauth, GRAPH_SEND)
    raw = mime()
    draft = http.post(f"{graph.base_url}/v1.0/users/{EMAIL}/messages", data=base64.b64encode(raw), timeout=5,
                      headers={**bearer(token), "Content-Type": "text/plain"})
    assert draft.status_code == 201 and draft.json()["internetMessageId"] == "<m-1@example.com>"
    draft_id = draft.json()["id"]
    too_large = upload_session(http, graph, token, draft_id, 150 * 1024 * 1024 + 1)
    assert graph_error(too_large)[:2] == (413, "ErrorMessageSizeExceeded")
    session = upload_session(http, graph, token, draft_id, 10)
    assert session.status_code == 201 and session.json()["nextExpectedRanges"] == ["0-"]
    upload_url = session.json()["uploadUrl"]
    assert upload_url.startswith(f"{graph.base_url}/upload/")
    assert put_chunk(http, upload_url, b"0123", 0, 10, **bearer(token)).status_code == 400
    first = put_chunk(http, upload_url, b"0123", 0, 10)
    assert (first.status_code, first.json()["nextExpectedRanges"]) == (200, ["4-"])
    assert put_chunk(http, upload_url, b"56789", 5, 10).status_code == 416
    send_url = f"{graph.base_url}/v1.0/users/{EMAIL}/messages/{draft_id}/send"
    assert graph_error(http.post(send_url, headers=bearer(token), timeout=5))[:2] == (400, "ErrorInvalidRequest")
    last = put_chunk(http, upload_url, b"456789", 4, 10)
    assert (last.status_code, last.json()) == (201, {})
    sent = http.post(send_url, headers=bearer(token), timeout=5)
    assert sent.status_code == 202 and sent.headers["request-id"]
    [message] = graph.wait_for_messages(1)
    assert (message.via, message.raw, message.provider_id) == ("upload", raw, draft_id)
    assert message.attachments == [("report.pdf", "application/pdf", b"0123456789")]
    assert graph.upload_chunks == [4, 6]


def test_graph_upload_chunks_are_4_mib_at_most(graph, microsoft_oauth, http):
    token = person_token(microsoft_oauth, GRAPH_SEND)
    draft = http.post(f"{graph.base_url}/v1.0/users/{EMAIL}/messages", data=base64.b64encode(mime()), timeout=5,
                      headers={**bearer(token), "Content-Type": "text/plain"}).json()
    size = 4 * 1024 * 1024 + 1
    upload_url = upload_session(http, graph, token, draft["id"], size).json()["uploadUrl"]
    assert put_chunk(http, upload_url, b"x" * size, 0, size).status_code == 413


# -- Gmail API -------------------------------------------------------------------------------------------------------

def gmail_send(http, gmail, token, raw=None):
    encoded = base64.urlsafe_b64encode(mime() if raw is None else raw).rstrip(b"=").decode()
    return http.post(f"{gmail.base_url}/gmail/v1/users/me/messages/send", json={"raw": encoded},
                     headers=bearer(token), timeout=5)


def gmail_error(response) -> tuple[int, str, str, str]:
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["errors"][0]["domain"] == "global"
    return response.status_code, error["status"], error["errors"][0]["reason"], error["message"]


def test_gmail_send_json_with_a_persons_token(gmail, google_oauth, http):
    token = person_token(google_oauth, "https://mail.google.com/ openid email")
    raw = mime(to="bob@example.net", bcc="eve@example.net")
    response = gmail_send(http, gmail, token, raw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{16}", body["id"]) and body["labelIds"] == ["SENT"]
    [message] = gmail.wait_for_messages(1)
    assert (message.mailbox, message.raw, message.via, message.provider_id) == (EMAIL, raw, "json", body["id"])
    assert message.recipients == ["bob@example.net", "eve@example.net"]


def test_gmail_refuses_tokens(gmail, google_oauth, http):
    unknown = gmail_send(http, gmail, "nope")
    assert unknown.json() == {"error": {
        "code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                                "cookie or other valid authentication credential.",
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                    "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED"}}
    assert unknown.headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    assert gmail_error(gmail_send(http, gmail, ""))[:3] == (401, "UNAUTHENTICATED", "required")
    profile_only = person_token(google_oauth, "openid email")
    assert gmail_error(gmail_send(http, gmail, profile_only)) == (
        403, "PERMISSION_DENIED", "insufficientPermissions", "Request had insufficient authentication scopes.")


def test_gmail_service_account_sends_as_its_subject(gmail, google_oauth, http):
    account = service_account(f"{google_oauth.base_url}/token")
    google_oauth.register_service_account(account.client_email, account.client_id, account.private_key_id,
                                          account.public_key_pem, "example.com")
    google_oauth.grant_domain_wide_delegation(account.client_id, "https://www.googleapis.com/auth/gmail.send")
    token = jwt_bearer(http, google_oauth, account, sub=REPORTS,
                       scope="https://www.googleapis.com/auth/gmail.send").json()["access_token"]
    assert gmail_send(http, gmail, token, mime(sender=REPORTS)).status_code == 200
    assert gmail.messages[0].mailbox == REPORTS


def test_gmail_refuses_bad_messages(gmail, google_oauth, pki, http):
    token = person_token(google_oauth, "https://mail.google.com/")
    assert gmail_error(gmail_send(http, gmail, token, mime(to=None))) == (
        400, "INVALID_ARGUMENT", "invalidArgument", "Recipient address required")
    garbage = http.post(f"{gmail.base_url}/gmail/v1/users/me/messages/send", json={"raw": "%%%"},
                        headers=bearer(token), timeout=5)
    assert gmail_error(garbage)[:3] == (400, "INVALID_ARGUMENT", "invalidArgument")
    with GmailApiTestServer(google_oauth, pki, json_limit=1000) as small:
        assert gmail_error(gmail_send(http, small, token, mime(body="x" * 1000)))[::2] == (413, "requestTooLarge")


def test_gmail_injected_failures(gmail, google_oauth, http):
    token = person_token(google_oauth, "https://mail.google.com/")
    gmail.fail_next(429, "rateLimitExceeded", "User-rate limit exceeded.", retry_after=30)
    throttled = gmail_send(http, gmail, token)
    assert gmail_error(throttled) == (429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "User-rate limit exceeded.")
    assert throttled.headers["Retry-After"] == "30"
    gmail.fail_next(503, "backendError", "Backend Error")
    assert gmail_error(gmail_send(http, gmail, token))[:2] == (503, "UNAVAILABLE")
    gmail.fail_next(412, "failedPrecondition", "Precondition check failed.")
    assert gmail_error(gmail_send(http, gmail, token))[:2] == (412, "FAILED_PRECONDITION")
    assert gmail_send(http, gmail, token).status_code == 200


def test_gmail_media_upload(gmail, google_oauth, http):
    token = person_token(google_oauth, "https://mail.google.com/")
    raw = mime()
    response = http.post(f"{gmail.base_url}/upload/gmail/v1/users/me/messages/send?uploadType=media", data=raw,
                         headers={**bearer(token), "Content-Type": "message/rfc822"}, timeout=5)
    assert response.status_code == 200, response.text
    assert (gmail.messages[0].via, gmail.messages[0].raw) == ("media", raw)


def start_resumable(http, gmail, token, length: int):
    return http.post(f"{gmail.base_url}/upload/gmail/v1/users/me/messages/send?uploadType=resumable", json={},
                     timeout=5, headers={**bearer(token), "X-Upload-Content-Type": "message/rfc822",
                                         "X-Upload-Content-Length": str(length)})


def test_gmail_resumable_upload_whole_and_in_chunks(gmail, google_oauth, http):
    token = person_token(google_oauth, "https://mail.google.com/")
    raw = mime()
    started = start_resumable(http, gmail, token, len(raw))
    assert (started.status_code, started.content) == (200, b"")
    location = started.headers["Location"]
    assert location.startswith(f"{gmail.base_url}/upload/gmail/v1/users/me/messages/send?uploadType=resumable&")
    whole = http.put(location, data=raw, headers={**bearer(token), "Content-Type": "message/rfc822"}, timeout=5)
    assert whole.status_code == 200 and re.fullmatch(r"[0-9a-f]{16}", whole.json()["id"])
    location = start_resumable(http, gmail, token, len(raw)).headers["Location"]
    half = len(raw) // 2
    first = http.put(location, data=raw[:half], timeout=5,
                     headers={**bearer(token), "Content-Range": f"bytes 0-{half - 1}/{len(raw)}"})
    assert (first.status_code, first.headers["Range"]) == (308, f"bytes=0-{half - 1}")
    rest = http.put(location, data=raw[half:], timeout=5,
                    headers={**bearer(token), "Content-Range": f"bytes {half}-{len(raw) - 1}/{len(raw)}"})
    assert rest.status_code == 200
    assert [(message.via, message.raw) for message in gmail.wait_for_messages(2)] == [("resumable", raw)] * 2


def test_gmail_refuses_messages_over_35_mb(gmail, google_oauth, http):
    token = person_token(google_oauth, "https://mail.google.com/")
    assert gmail_error(start_resumable(http, gmail, token, 36_700_161))[::2] == (413, "uploadTooLarge")
