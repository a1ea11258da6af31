"""Microsoft Graph's sendMail with a ready MIME message: base64 as text/plain in one request, or, for a message
larger than one request takes, a draft from the message and its largest attachments uploaded in upload sessions,
then sent. Graph takes up to 150 MB that way."""

import base64
from urllib.parse import quote

from flask_babel import gettext as _

from .api_http import ApiHttp
from .api_message import Detached, detach_largest, with_envelope_recipients
from .smtp import Trace
from .transport import Envelope

REQUEST_LIMIT = 4 * 1024 * 1024  # bytes of one request's body
UPLOAD_CHUNK = 10 * 320 * 1024  # an upload session takes chunks of a multiple of 320 KiB, up to 4 MiB
LABEL = "Microsoft Graph"


def fits(data: bytes) -> bool:
    """Whether the message, base64, fits in one request."""
    return (len(data) + 2) // 3 * 4 <= REQUEST_LIMIT


def send(http: ApiHttp, api_url: str, envelope: Envelope, token: str, mailbox: str, trace: Trace) -> str:
    """Send as the mailbox; Graph's answer, as a reply line."""
    data = with_envelope_recipients(envelope)
    user = f"{api_url}/users/{quote(mailbox, safe='@')}"
    if fits(data):
        response = http.call("POST", f"{user}/sendMail", "request", token, expected=(202,), data=base64.b64encode(data),
                             headers={"Content-Type": "text/plain"})
        trace.ok("request", f"POST /users/{mailbox}/sendMail ({len(data)} bytes, MIME)")
        return answered(response)
    draft, detached = detach_largest(data, fits)
    response = http.call("POST", f"{user}/messages", "request", token, expected=(201,), data=base64.b64encode(draft),
                         headers={"Content-Type": "text/plain"})
    message = f"{user}/messages/{quote(response.json().get('id', ''), safe='')}"
    trace.ok("request", _("draft of %(size)s bytes created, %(count)s attachments to upload", size=len(draft),
                          count=len(detached)))
    for attachment in detached:
        upload(http, message, attachment, token)
        trace.ok("upload", f"{attachment.name} ({len(attachment.content)} bytes)")
    return answered(http.call("POST", f"{message}/send", "request", token, expected=(202,)))


def upload(http: ApiHttp, message: str, attachment: Detached, token: str) -> None:
    """One attachment through an upload session, chunk after chunk (the upload URL carries its own authorization:
    the token is not sent there)."""
    item = {"attachmentType": "file", "name": attachment.name, "size": len(attachment.content),
            "contentType": attachment.content_type, "isInline": attachment.inline}
    if attachment.content_id:
        item["contentId"] = attachment.content_id
    session = http.call("POST", f"{message}/attachments/createUploadSession", "upload", token, expected=(201,),
                        json={"AttachmentItem": item})
    url, total = session.json().get("uploadUrl", ""), len(attachment.content)
    for start in range(0, total, UPLOAD_CHUNK):
        chunk = attachment.content[start:start + UPLOAD_CHUNK]
        http.call("PUT", url, "upload", None, expected=(200, 201), data=chunk,
                  headers={"Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{total}",
                           "Content-Type": "application/octet-stream"})


def answered(response) -> str:
    """Graph accepted the message: its request id is what support asks for."""
    return f"{response.status_code} Accepted request-id={response.headers.get('request-id', '')}"
