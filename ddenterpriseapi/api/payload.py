"""Turning the API's JSON into drafts, with errors that name the offending field."""

import base64
import binascii

from ..mail.errors import InvalidMessage
from ..mail.message import Attachment, Draft

MAX_MESSAGES = 50
MESSAGE_FIELDS = {"from", "from_name", "reply_to", "to", "cc", "bcc", "subject", "text", "html", "attachments"}


def _address_list(message: dict, name: str) -> list[str]:
    value = message.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidMessage(f"{name} must be a list of email addresses.", name)
    return value


def _optional_text(message: dict, name: str) -> str | None:
    value = message.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidMessage(f"{name} must be a string.", name)
    return value


def _attachment(item, index: int) -> Attachment:
    where = f"attachments[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("filename"), str) or not isinstance(
            item.get("content"), str):
        raise InvalidMessage(f"{where} needs a filename and a base64 content.", where)
    try:
        content = base64.b64decode(item["content"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage(f"{where}.content is not valid base64.", where) from None
    content_type = item.get("content_type") or "application/octet-stream"
    if not isinstance(content_type, str):
        raise InvalidMessage(f"{where}.content_type must be a string such as text/csv.", f"{where}.content_type")
    return Attachment(item["filename"], content, content_type)


def _attachments(message: dict, limit: int) -> list[Attachment]:
    attachments = message.get("attachments", [])
    if not isinstance(attachments, list):
        raise InvalidMessage("attachments must be a list.", "attachments")
    if len(attachments) > limit:  # checked before decoding: each one costs time and memory
        raise InvalidMessage(f"At most {limit} attachments per message.", "attachments")
    return [_attachment(item, index) for index, item in enumerate(attachments)]


def parse_message(message, max_attachments: int) -> Draft:
    """One draft from one JSON message object."""
    if not isinstance(message, dict):
        raise InvalidMessage("A message is a JSON object.")
    unknown = set(message) - MESSAGE_FIELDS
    if unknown:
        raise InvalidMessage(f"Unknown fields: {', '.join(sorted(unknown))}.", sorted(unknown)[0])
    return Draft(
        sender=_optional_text(message, "from"),
        sender_name=_optional_text(message, "from_name"),
        reply_to=_optional_text(message, "reply_to"),
        to=_address_list(message, "to"),
        cc=_address_list(message, "cc"),
        bcc=_address_list(message, "bcc"),
        subject=_optional_text(message, "subject") or "",
        text=_optional_text(message, "text"),
        html=_optional_text(message, "html"),
        attachments=_attachments(message, max_attachments),
    )


def parse_request(body, max_attachments: int) -> list[Draft]:
    """One message object, or {"messages": [...]} to send several over one connection."""
    if isinstance(body, dict) and "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise InvalidMessage("messages must be a non-empty list.", "messages")
        if len(messages) > MAX_MESSAGES:
            raise InvalidMessage(f"At most {MAX_MESSAGES} messages per request.", "messages")
        return [parse_message(message, max_attachments) for message in messages]
    return [parse_message(body, max_attachments)]
