"""HTTPS stand-ins for the mail-sending APIs: Microsoft Graph (sendMail, and drafts with upload sessions for large
attachments) and the Gmail API (messages.send as JSON, media or resumable upload).

Each checks the bearer token with its OAuth test server's token_info (audience, scopes, roles, whom the token acts
as), answers errors in the provider's JSON shape, keeps what it accepted in `messages` and every request in
`requests`. Faults can be injected: fail_next (an error answer to the next sending or creating POSTs), an outage on
the same port (stop_listening), and per API the refusals a tenant or mailbox may cause. heal() ends them.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from flask import Flask, Response, g, jsonify, request
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from tests.servers.oauth_server import GRAPH_RESOURCE, OAuthTestServer, TokenInfo, _QuietHandler
from tests.servers.serving import Serving
from tests.servers.tls import TestPKI, server_ssl_context

MEBIBYTE = 1024 * 1024
CONTENT_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")

GRAPH_CHALLENGE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                   'client_id="00000003-0000-0000-c000-000000000000"')
GRAPH_ACCESS_DENIED = "Access is denied. Check credentials and try again."
GRAPH_ATTACHMENT_LIMIT = 150 * MEBIBYTE
GRAPH_CHUNK_LIMIT = 4 * MEBIBYTE
UPLOAD_SESSION_LIFETIME = timedelta(hours=6)

GMAIL_SCOPES = {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.send"}
GMAIL_MESSAGE_LIMIT = 36_700_160  # 35 MB
GMAIL_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
GMAIL_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                      429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}
GMAIL_BAD_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                         "or other valid authentication credential.")
GMAIL_NO_CREDENTIALS = ("Request is missing required authentication credential. Expected OAuth 2 access token, "
                        "login cookie or other valid authentication credential.")


@dataclass(frozen=True)
class ApiMessage:
    """One message an API accepted for sending."""

    mailbox: str  # who sent it: Graph's URL user, Gmail's token user or service account subject
    raw: bytes  # the MIME message exactly as received, decoded
    via: str  # Graph: "sendMail" or "upload"; Gmail: "json", "media" or "resumable"
    recipients: list[str]  # addresses of To, Cc and Bcc
    attachments: list[tuple[str, str, bytes]]  # Graph's upload path: (name, content type, bytes) uploaded
    provider_id: str  # Graph: the request-id (sendMail) or draft id (upload); Gmail: the message id


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request an API got, as it came."""

    method: str
    path: str
    query: str
    headers: Headers  # case-insensitive
    body_length: int


@dataclass(frozen=True)
class _Failure:
    """An error answer fail_next() asked for."""

    status: int
    code: str
    message: str
    retry_after: int | None


class _MailApiServer:
    """HTTPS in a thread on 127.0.0.1, recording requests and messages; the faults both APIs share."""

    host = "127.0.0.1"
    name = "mail-api"

    def __init__(self, oauth: OAuthTestServer, pki: TestPKI):
        self.oauth = oauth
        self.pki = pki
        self.requests: list[ApiRequest] = []
        self.messages: list[ApiMessage] = []
        self.port = 0
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._serving: Serving | None = None
        self._outage = False
        self.app = Flask(f"{self.name}_test_server")
        self.app.before_request(self._record_request)
        self._add_routes(self.app)
        self.heal()

    @property
    def base_url(self) -> str:
        """The API's root, named localhost so that the test certificate matches."""
        return f"https://localhost:{self.port}"

    def start(self):
        """Listen on a free port of 127.0.0.1 (the same one again after a stop) and return self."""
        httpd = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler,
                            ssl_context=server_ssl_context(self.pki))
        self.port = httpd.server_port
        self._serving = Serving(httpd, self._stopping, name=f"{self.name}-{self.port}")
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; harmless twice."""
        self._outage = False
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def stop_listening(self) -> None:
        """Play an outage: refuse connections until resume() or heal()."""
        self.stop()
        self._outage = True

    def resume(self) -> None:
        """Listen again on the same port; harmless while listening."""
        self._outage = False
        if self._serving is None:
            self.start()

    def __enter__(self):
        return self if self._serving is not None else self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def fail_next(self, status: int, code: str, message: str, retry_after: int | None = None,
                  count: int = 1) -> None:
        """Answer the next count sending or creating POSTs (not upload PUTs) with this error, in the provider's
        shape, with Retry-After when given."""
        with self._condition:
            self._failures = [_Failure(status, code, message, retry_after)] * count

    def heal(self) -> None:
        """End every injected fault, an outage included."""
        with self._condition:
            self._failures: list[_Failure] = []
        if self._outage:
            self.resume()

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[ApiMessage]:
        """Wait until at least count messages were accepted and return them all."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} message(s) received, expected {count}")
            return list(self.messages)

    def _add_routes(self, app: Flask) -> None:
        raise NotImplementedError

    def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> Response:
        raise NotImplementedError

    def _record_request(self) -> None:
        """before_request: keep what came (the body is read now, and cached for the view)."""
        entry = ApiRequest(request.method, request.path, request.query_string.decode(),
                           Headers(list(request.headers.items())), len(request.get_data()))
        with self._condition:
            self.requests.append(entry)

    def _injected_failure(self) -> Response | None:
        """The error answer fail_next() left for this request, if any."""
        with self._condition:
            if not self._failures:
                return None
            failure = self._failures.pop(0)
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return self._error(failure.status, failure.code, failure.message, headers)

    def _accept(self, message: ApiMessage) -> None:
        with self._condition:
            self.messages.append(message)
            self._condition.notify_all()


def parse_mime(raw: bytes) -> EmailMessage:
    """The message as the email package reads it."""
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def recipients_of(message: EmailMessage) -> list[str]:
    """The addresses in To, Cc and Bcc."""
    headers = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    return [address for _, address in getaddresses(headers) if address]


def sender_of(message: EmailMessage) -> str | None:
    """The From header's address, if any."""
    addresses = [address for _, address in getaddresses([str(v) for v in message.get_all("From", [])]) if address]
    return addresses[0] if addresses else None


@dataclass
class _Attachment:
    """A Graph upload session: the attachment declared, and the bytes uploaded so far."""

    name: str
    content_type: str
    size: int
    data: bytearray = field(default_factory=bytearray)

    def complete(self) -> bool:
        return len(self.data) == self.size


@dataclass
class _Draft:
    """A Graph draft created from MIME, waiting for its attachments' uploads and its send."""

    mailbox: str
    raw: bytes
    attachments: list[_Attachment] = field(default_factory=list)


class GraphTestServer(_MailApiServer):
    """Microsoft Graph v1.0's mail sending on a Microsoft-shaped OAuth test server's tokens.

    Knobs besides the shared ones: disable_rest(mailbox) (until heal), grant_send_as(mailbox, address) (stays).
    Records besides requests and messages: upload_chunks (the size of every upload PUT accepted).
    """

    name = "graph"

    def __init__(self, oauth: OAuthTestServer, pki: TestPKI, graph_resource: str = GRAPH_RESOURCE,
                 request_limit: int = 4 * MEBIBYTE):
        self.graph_resource = graph_resource
        self.request_limit = request_limit
        self.upload_chunks: list[int] = []
        self.send_as: set[tuple[str, str]] = set()
        self._drafts: dict[str, _Draft] = {}
        self._uploads: dict[str, _Attachment] = {}
        super().__init__(oauth, pki)

    def grant_send_as(self, mailbox: str, address: str) -> None:
        """Exchange's Send As permission: mailbox may send with address in From."""
        with self._condition:
            self.send_as.add((mailbox.lower(), address.lower()))

    def disable_rest(self, mailbox: str) -> None:
        """The mailbox answers MailboxNotEnabledForRESTAPI (inactive, soft-deleted or on-premises), until heal()."""
        with self._condition:
            self._rest_disabled.add(mailbox.lower())

    def heal(self) -> None:
        with self._condition:
            self._rest_disabled: set[str] = set()
        super().heal()

    def _add_routes(self, app: Flask) -> None:
        users = "/v1.0/users/<mailbox>"
        app.add_url_rule(f"{users}/sendMail", "send_mail", self._send_mail, methods=["POST"])
        app.add_url_rule(f"{users}/messages", "create_draft", self._create_draft, methods=["POST"])
        app.add_url_rule(f"{users}/messages/<draft_id>/attachments/createUploadSession", "create_upload_session",
                         self._create_upload_session, methods=["POST"])
        app.add_url_rule(f"{users}/messages/<draft_id>/send", "send_draft", self._send_draft, methods=["POST"])
        app.add_url_rule("/upload/<upload_id>", "upload", self._upload, methods=["PUT"])
        app.before_request(self._name_request)
        app.after_request(self._request_id_headers)

    def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> Response:
        """Graph's error body."""
        response = jsonify({"error": {"code": code, "message": message}})
        response.status_code = status
        response.headers.update(headers or {})
        return response

    # -- views ---------------------------------------------------------------------------------------------

    def _send_mail(self, mailbox: str):
        """POST /users/{mailbox}/sendMail with base64 MIME: 202, the message kept with via="sendMail"."""
        raw, refusal = self._posted_mime(mailbox)
        refusal = refusal or self._refuse_sending(mailbox, raw)
        if refusal is not None:
            return refusal
        self._accept(ApiMessage(mailbox, raw, "sendMail", recipients_of(parse_mime(raw)), [], g.request_id))
        return Response(status=202)

    def _create_draft(self, mailbox: str):
        """POST /users/{mailbox}/messages with base64 MIME: a draft, 201 with its id and internetMessageId."""
        raw, refusal = self._posted_mime(mailbox)
        if refusal is not None:
            return refusal
        draft_id = "AAMkAD" + secrets.token_urlsafe(32)
        with self._condition:
            self._drafts[draft_id] = _Draft(mailbox, raw)
        message_id = parse_mime(raw)["Message-ID"] or f"<{uuid.uuid4().hex}@localhost>"
        return {"id": draft_id, "internetMessageId": str(message_id)}, 201

    def _create_upload_session(self, mailbox: str, draft_id: str):
        """POST .../attachments/createUploadSession for a file attachment: 201 with the upload URL."""
        refusal = self._refuse_post(mailbox) or self._refuse_unknown_draft(mailbox, draft_id)
        if refusal is not None:
            return refusal
        item = (request.get_json(silent=True) or {}).get("AttachmentItem")
        if (not isinstance(item, dict) or item.get("attachmentType") != "file" or not isinstance(item.get("name"), str)
                or type(item.get("size")) is not int or item["size"] < 0):
            return self._error(400, "ErrorInvalidRequest", "The AttachmentItem is missing or invalid.")
        if item["size"] > GRAPH_ATTACHMENT_LIMIT:
            return self._error(413, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
        attachment = _Attachment(item["name"], item.get("contentType") or "application/octet-stream", item["size"])
        upload_id = secrets.token_urlsafe(24)
        with self._condition:
            self._drafts[draft_id].attachments.append(attachment)
            self._uploads[upload_id] = attachment
        return {"uploadUrl": f"{self.base_url}/upload/{upload_id}", "expirationDateTime": _expiry(),
                "nextExpectedRanges": ["0-"]}, 201

    def _upload(self, upload_id: str):
        """PUT one chunk to an upload URL (no Authorization: the URL is the credential): 200 until the last, then
        201."""
        if "Authorization" in request.headers:
            return self._error(400, "ErrorInvalidRequest", "An upload URL takes no Authorization header.")
        with self._condition:
            attachment = self._uploads.get(upload_id)
        if attachment is None:
            return self._error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        chunk = request.get_data()
        match = CONTENT_RANGE_RE.fullmatch(request.headers.get("Content-Range", ""))
        if match is None or int(match[3]) != attachment.size or int(match[2]) - int(match[1]) + 1 != len(chunk):
            return self._error(400, "ErrorInvalidRequest", "The Content-Range header is missing or invalid.")
        if len(chunk) > GRAPH_CHUNK_LIMIT:
            return self._error(413, "RequestBodyTooLarge", "The maximum request length supported is 4MB.")
        with self._condition:
            if int(match[1]) != len(attachment.data):
                return self._error(416, "ErrorInvalidRange",
                                   f"The range does not start at the next expected byte, {len(attachment.data)}.")
            attachment.data += chunk
            self.upload_chunks.append(len(chunk))
            if attachment.complete():
                return {}, 201
            return {"expirationDateTime": _expiry(), "nextExpectedRanges": [f"{len(attachment.data)}-"]}, 200

    def _send_draft(self, mailbox: str, draft_id: str):
        """POST .../messages/{id}/send once every attachment is uploaded: 202, kept with via="upload"."""
        refusal = self._refuse_post(mailbox) or self._refuse_unknown_draft(mailbox, draft_id)
        if refusal is not None:
            return refusal
        with self._condition:
            draft = self._drafts[draft_id]
            if not all(attachment.complete() for attachment in draft.attachments):
                return self._error(400, "ErrorInvalidRequest", "An attachment upload has not been completed.")
        refusal = self._refuse_sending(mailbox, draft.raw)
        if refusal is not None:
            return refusal
        with self._condition:
            del self._drafts[draft_id]
        attachments = [(item.name, item.content_type, bytes(item.data)) for item in draft.attachments]
        self._accept(ApiMessage(mailbox, draft.raw, "upload", recipients_of(parse_mime(draft.raw)), attachments,
                                draft_id))
        return Response(status=202)

    # -- checks ----------------------------------------------------------------------------------------------

    def _refuse_post(self, mailbox: str) -> Response | None:
        """The token's refusal, the mailbox's, or an injected failure, in that order."""
        refusal = self._refuse_token(mailbox)
        if refusal is not None:
            return refusal
        with self._condition:
            disabled = mailbox.lower() in self._rest_disabled
        if disabled:
            return self._error(404, "MailboxNotEnabledForRESTAPI",
                               "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        return self._injected_failure()

    def _refuse_token(self, mailbox: str) -> Response | None:
        """401 unless a live Graph token; 403 unless it may send mail as mailbox."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        info = self.oauth.token_info(token) if token else None
        if info is None or info.resource != self.graph_resource:
            return self._error(401, "InvalidAuthenticationToken", self._token_problem(token, info),
                               {"WWW-Authenticate": GRAPH_CHALLENGE})
        if not self._may_send_as_mailbox(info, mailbox):
            return self._error(403, "ErrorAccessDenied", GRAPH_ACCESS_DENIED)
        return None

    def _token_problem(self, token: str, info: TokenInfo | None) -> str:
        """Graph's words for why a token is refused."""
        if not token:
            return "Access token is empty."
        if info is None and (token in self.oauth.tokens or token in self.oauth.app_tokens):
            return "Lifetime validation failed, the token is expired."
        return "Access token validation failure. Invalid audience."

    def _may_send_as_mailbox(self, info: TokenInfo, mailbox: str) -> bool:
        """A person's token with Mail.Send for their own mailbox; an app's token with the Mail.Send role for any."""
        if info.app_only:
            return "Mail.Send" in info.roles
        return f"{self.graph_resource}/Mail.Send" in info.scopes and mailbox.lower() == info.user.lower()

    def _posted_mime(self, mailbox: str) -> tuple[bytes, Response | None]:
        """The MIME a sendMail or a draft POST carries, or the refusal of the POST (token, mailbox, size, body)."""
        refusal = self._refuse_post(mailbox)
        return (b"", refusal) if refusal is not None else self._mime_body()

    def _mime_body(self) -> tuple[bytes, Response | None]:
        """The request's text/plain base64 body decoded, or the refusal of a body too large or not base64 MIME."""
        body = request.get_data()
        if len(body) > self.request_limit:
            return b"", self._error(413, "RequestBodyTooLarge", "The maximum request length supported is 4MB.")
        if request.mimetype != "text/plain":
            return b"", self._error(400, "UnableToDeserializePostBody", "were unable to deserialize ")
        try:
            raw = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error:
            raw = b""
        if not raw:
            return b"", self._error(400, "ErrorMimeContentInvalidBase64String",
                                    "Invalid base64 string for MIME content.")
        return raw, None

    def _refuse_sending(self, mailbox: str, raw: bytes) -> Response | None:
        """400 for a message without recipients, 403 for a From the mailbox may not send as."""
        message = parse_mime(raw)
        if not recipients_of(message):
            return self._error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        sender = sender_of(message)
        with self._condition:
            allowed = sender is None or sender.lower() == mailbox.lower() or (
                (mailbox.lower(), sender.lower()) in self.send_as)
        if not allowed:
            return self._error(403, "ErrorSendAsDenied", "The user account which was used to submit this request "
                               "does not have the right to send mail on behalf of the specified sending account.")
        return None

    def _refuse_unknown_draft(self, mailbox: str, draft_id: str) -> Response | None:
        with self._condition:
            draft = self._drafts.get(draft_id)
        if draft is None or draft.mailbox.lower() != mailbox.lower():
            return self._error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return None

    def _name_request(self) -> None:
        """before_request: the request-id this answer will carry."""
        g.request_id = str(uuid.uuid4())

    def _request_id_headers(self, response: Response) -> Response:
        """after_request: Graph's request-id, and client-request-id echoed (or made up)."""
        response.headers["request-id"] = g.request_id
        response.headers["client-request-id"] = request.headers.get("client-request-id") or str(uuid.uuid4())
        return response


def _expiry() -> str:
    """An upload session's expirationDateTime, as Graph writes it."""
    return (datetime.now(UTC) + UPLOAD_SESSION_LIFETIME).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


@dataclass
class _ResumableUpload:
    """A Gmail resumable upload session: who sends, the length announced, the bytes so far."""

    sender: str
    length: int | None
    data: bytearray = field(default_factory=bytearray)


class GmailApiTestServer(_MailApiServer):
    """The Gmail API's users.messages.send on a Google-shaped OAuth test server's tokens (people's, and service
    accounts' acting as a mailbox), with its three ways in: JSON raw, media upload and resumable upload."""

    name = "gmail"

    def __init__(self, oauth: OAuthTestServer, pki: TestPKI, json_limit: int = 5 * MEBIBYTE):
        self.json_limit = json_limit
        self._sessions: dict[str, _ResumableUpload] = {}
        super().__init__(oauth, pki)

    def _add_routes(self, app: Flask) -> None:
        app.add_url_rule("/gmail/v1/users/<user_id>/messages/send", "send", self._send, methods=["POST"])
        app.add_url_rule("/upload/gmail/v1/users/<user_id>/messages/send", "upload", self._upload_start,
                         methods=["POST"])
        app.add_url_rule("/upload/gmail/v1/users/<user_id>/messages/send", "upload_put", self._upload_put,
                         methods=["PUT"])

    def _error(self, status: int, code: str, message: str, headers: dict | None = None,
               detail: dict | None = None) -> Response:
        """Google's error body; code is the reason, detail overrides fields of the errors entry."""
        status_name = GMAIL_STATUS_NAMES.get(status, "FAILED_PRECONDITION")
        entry = {"message": message, "domain": "global", "reason": code, **(detail or {})}
        response = jsonify({"error": {"code": status, "message": message, "errors": [entry], "status": status_name}})
        response.status_code = status
        response.headers.update(headers or {})
        return response

    # -- views ---------------------------------------------------------------------------------------------

    def _send(self, user_id: str):
        """POST messages/send with JSON {"raw": base64url MIME}: 200 with the message, kept with via="json"."""
        sender, refusal = self._sender(user_id)
        if refusal is not None:
            return refusal
        refusal = self._injected_failure()
        if refusal is not None:
            return refusal
        if len(request.get_data()) > self.json_limit:
            return self._error(413, "requestTooLarge", "Request payload size exceeds the limit")
        raw = (request.get_json(silent=True) or {}).get("raw")
        if not isinstance(raw, str) or not BASE64URL_RE.fullmatch(raw):
            return self._error(400, "invalidArgument", "Invalid value for ByteString")
        try:
            decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw.rstrip("=")) % 4))
        except binascii.Error:
            return self._error(400, "invalidArgument", "Invalid value for ByteString")
        return self._deliver(sender, decoded, "json")

    def _upload_start(self, user_id: str):
        """POST /upload/...: uploadType=media sends the body; uploadType=resumable opens a session (its Location)."""
        sender, refusal = self._sender(user_id)
        if refusal is not None:
            return refusal
        refusal = self._injected_failure()
        if refusal is not None:
            return refusal
        upload_type = request.args.get("uploadType")
        if upload_type == "media":
            return self._refuse_media(request.mimetype) or self._deliver(sender, request.get_data(), "media")
        if upload_type != "resumable":
            return self._error(400, "invalidArgument", f"Invalid upload type: {upload_type}")
        refusal = self._refuse_media(request.headers.get("X-Upload-Content-Type", "message/rfc822"))
        if refusal is not None:
            return refusal
        length = request.headers.get("X-Upload-Content-Length")
        length = int(length) if length and length.isdigit() else None
        if length is not None and length > GMAIL_MESSAGE_LIMIT:
            return self._error(413, "uploadTooLarge", "Maximum upload size exceeded")
        upload_id = secrets.token_urlsafe(24)
        with self._condition:
            self._sessions[upload_id] = _ResumableUpload(sender, length)
        location = f"{self.base_url}{request.path}?uploadType=resumable&upload_id={upload_id}"
        return Response(status=200, headers={"Location": location})

    def _upload_put(self, user_id: str):
        """PUT to a resumable session: the whole message, or one chunk with Content-Range (308 until the last)."""
        _, refusal = self._sender(user_id)
        if refusal is not None:
            return refusal
        with self._condition:
            session = self._sessions.get(request.args.get("upload_id", ""))
        if session is None:
            return self._error(404, "notFound", "Not Found")
        chunk = request.get_data()
        content_range = request.headers.get("Content-Range")
        if content_range is None:
            start, total = 0, session.length if session.length is not None else len(chunk)
        else:
            match = CONTENT_RANGE_RE.fullmatch(content_range)
            if match is None or int(match[2]) - int(match[1]) + 1 != len(chunk):
                return self._error(400, "badRequest", "Invalid Content-Range header")
            start, total = int(match[1]), int(match[3])
        with self._condition:
            if start != len(session.data) or start + len(chunk) > total:
                return self._error(400, "badRequest", f"The next expected byte is {len(session.data)}")
            session.data += chunk
            if len(session.data) < total:
                return Response(status=308, headers={"Range": f"bytes=0-{len(session.data) - 1}"})
            del self._sessions[request.args["upload_id"]]
        if total > GMAIL_MESSAGE_LIMIT:
            return self._error(413, "uploadTooLarge", "Maximum upload size exceeded")
        return self._deliver(session.sender, bytes(session.data), "resumable")

    # -- checks ----------------------------------------------------------------------------------------------

    def _sender(self, user_id: str) -> tuple[str, Response | None]:
        """Whom a live token with a sending scope sends as (the person, or the service account's subject), else the
        401 or 403."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        info = self.oauth.token_info(token) if token else None
        if info is None:
            message, reason, said = ((GMAIL_BAD_CREDENTIALS, "authError", "Invalid Credentials") if token else
                                     (GMAIL_NO_CREDENTIALS, "required", "Login Required."))
            detail = {"message": said, "location": "Authorization", "locationType": "header"}
            return "", self._error(401, reason, message, {"WWW-Authenticate": GMAIL_CHALLENGE}, detail)
        if not info.scopes & GMAIL_SCOPES:
            return "", self._error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        sender = info.user or info.subject
        if user_id != "me" and user_id.lower() != sender.lower():
            return "", self._error(403, "forbidden", f"Delegation denied for {sender}")
        return sender, None

    def _refuse_media(self, media_type: str) -> Response | None:
        if media_type.split(";")[0].strip().lower().startswith("message/"):
            return None
        return self._error(400, "badContent",
                           f"Media type '{media_type}' is not supported. Valid media types: [message/*]")

    def _deliver(self, sender: str, raw: bytes, via: str):
        """Keep a message with recipients and answer Gmail's message resource; else 400 or 413."""
        if len(raw) > GMAIL_MESSAGE_LIMIT:
            return self._error(413, "uploadTooLarge", "Maximum upload size exceeded")
        recipients = recipients_of(parse_mime(raw))
        if not recipients:
            return self._error(400, "invalidArgument", "Recipient address required")
        message_id = secrets.token_hex(8)
        self._accept(ApiMessage(sender, raw, via, recipients, [], message_id))
        return {"id": message_id, "threadId": message_id, "labelIds": ["SENT"]}
