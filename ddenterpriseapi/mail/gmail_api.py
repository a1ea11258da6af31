"""The Gmail API's messages.send with a ready MIME message: base64url in a JSON request, or, for a larger message,
the bytes themselves through a resumable media upload (up to Gmail's 35 MB)."""

import base64
from urllib.parse import urlsplit

from flask_babel import gettext as _

from ..said import said
from .api_http import ApiHttp
from .api_message import with_envelope_recipients
from .errors import MailError
from .smtp import Trace
from .transport import Envelope

JSON_LIMIT = 4 * 1024 * 1024  # bytes of message sent as JSON; larger ones are uploaded
UPLOAD_CHUNK = 32 * 256 * 1024  # a resumable upload's chunks are multiples of 256 KiB: each within the timeout
LABEL = "Gmail API"


def send(http: ApiHttp, api_url: str, envelope: Envelope, token: str, mailbox: str, trace: Trace) -> str:
    """Send as the token's account (users/me); the Gmail API's answer, naming the message's id, as a reply line."""
    data = with_envelope_recipients(envelope)
    if len(data) <= JSON_LIMIT:
        response = http.call("POST", f"{api_url}/gmail/v1/users/me/messages/send", "request", token,
                             json={"raw": base64.urlsafe_b64encode(data).decode()})
        trace.ok("request", f"POST /gmail/v1/users/me/messages/send ({len(data)} bytes, raw)")
    else:
        session = http.call("POST", f"{api_url}/upload/gmail/v1/users/me/messages/send?uploadType=resumable",
                            "upload", token, json={}, headers={"X-Upload-Content-Type": "message/rfc822",
                                                               "X-Upload-Content-Length": str(len(data))})
        response = upload(http, upload_url(session.headers.get("Location", ""), api_url), data, token)
        trace.ok("request", _("resumable upload of %(size)s bytes", size=len(data)))
    return f"{response.status_code} OK id={response.json().get('id', '')}"


def upload(http: ApiHttp, url: str, data: bytes, token: str):
    """The message through the upload session, chunk after chunk (308 until the last, which answers the message)."""
    total = len(data)
    for start in range(0, total, UPLOAD_CHUNK):
        chunk = data[start:start + UPLOAD_CHUNK]
        response = http.call("PUT", url, "upload", token, expected=(200, 308), data=chunk,
                             headers={"Content-Type": "message/rfc822",
                                      "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{total}"})
    return response


def upload_url(location: str, api_url: str) -> str:
    """Where the upload goes, with the token: only to the API's own server."""
    if urlsplit(location)[:2] != urlsplit(api_url)[:2]:
        raise MailError(said("api_unexpected", api=LABEL, status=f"Location: {urlsplit(location).netloc or '-'}",
                             expected=urlsplit(api_url).netloc), "upload")
    return location
