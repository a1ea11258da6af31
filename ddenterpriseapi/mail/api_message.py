"""A message made ready for an HTTPS API, which reads the recipients from the headers where SMTP reads the envelope:
the envelope's other recipients (a draft's Bcc, a relayed message's hidden ones) are added as a Bcc line, which the
provider removes before delivery; a message with none goes as it is, byte for byte. And a message too large for
Graph's one request is split into a draft and its largest attachments."""

import email
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from .raw import header_line, read_headers, with_headers
from .transport import Envelope


def with_envelope_recipients(envelope: Envelope) -> bytes:
    """The message naming every envelope recipient in its headers."""
    headers = read_headers(envelope.data)
    named = {address.casefold() for _name, address in
             getaddresses([str(value) for name in ("To", "Cc", "Bcc") for value in headers.get_all(name) or []])}
    hidden = [rcpt for rcpt in envelope.recipients if rcpt.casefold() not in named]
    if not hidden:
        return envelope.data
    utf8 = not all(rcpt.isascii() for rcpt in hidden)
    return with_headers(envelope.data, [header_line("Bcc", ", ".join(hidden), utf8)])


@dataclass(frozen=True)
class Detached:
    """An attachment taken out of a message, to be uploaded apart."""

    name: str
    content_type: str
    content: bytes
    inline: bool
    content_id: str | None


def detach_largest(data: bytes, fits) -> tuple[bytes, list[Detached]]:
    """The message without its largest attachments, as few as make `fits(bytes)` true, and those attachments; the
    message as it is when it fits already or has nothing to take out."""
    if fits(data):
        return data, []
    message = email.message_from_bytes(data)
    parts = sorted(attachments(message), key=lambda found: -len(found[1].get_payload(decode=True) or b""))
    detached: list[Detached] = []
    for parent, part in parts:
        parent.get_payload().remove(part)
        detached.append(Detached(part.get_filename() or "attachment", part.get_content_type(),
                                 part.get_payload(decode=True) or b"", part.get_content_disposition() == "inline",
                                 (part.get("Content-ID") or "").strip("<> ") or None))
        rest = message.as_bytes()
        if fits(rest):
            return rest, detached
    return message.as_bytes(), detached


def attachments(message: Message) -> list[tuple[Message, Message]]:
    """Every leaf part with a file name (an attachment, or an inline image), with the multipart that holds it."""
    found = []
    for parent in message.walk():
        if parent.is_multipart():
            found += [(parent, part) for part in parent.get_payload()
                      if not part.is_multipart() and part.get_filename()]
    return found
