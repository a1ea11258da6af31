"""Building a proper MIME message: text and/or HTML, attachments, UTF-8 headers, Date and Message-ID."""

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, formataddr, make_msgid
from io import BytesIO

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from .errors import InvalidMessage

MAX_RECIPIENTS = 100
# Every character str.splitlines() breaks at: Python's email package refuses each of them in a header.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# type/subtype, each an RFC 2045 token: no parameters, spaces or control characters.
CONTENT_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class HeaderClasses(HeaderRegistry):
    """The email package's header registry, making each header's class once: the stock one makes a new class for
    every header set, which costs more than the rest of building a message."""

    def __init__(self):
        super().__init__()
        self.made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self.made:
            self.made[key] = super().__getitem__(key)
        return self.made[key]


POLICY = default.clone(header_factory=HeaderClasses())


@dataclass(frozen=True)
class Attachment:
    """A file to attach."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Draft:
    """What to send, before it becomes a MIME message."""

    to: list[str]
    subject: str
    sender: str | None = None  # None: the email server's sender
    text: str | None = None
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    sender_name: str | None = None
    reply_to: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


def has_line_break(value: str) -> bool:
    """True when a header value would start a new line (header injection, or a crash in the email package)."""
    return not LINE_BREAKS.isdisjoint(value)


def no_line_breaks(value: str, field_name: str) -> str:
    """Refuse header injection: a header value never carries a line break."""
    if has_line_break(value):
        raise InvalidMessage(_("%(field)s must be a single line (no line breaks).", field=field_name), field_name)
    return value


@functools.lru_cache(maxsize=16)
def address_problem(address: str) -> str | None:
    """Why an address cannot be used (email-validator's reason), or None."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return None


def checked_address(address: str, field_name: str) -> str:
    """A syntactically valid email address (internationalized allowed), normalized."""
    no_line_breaks(address, field_name)
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidMessage(_("%(field)s: %(address)s is not a valid address (%(reason)s).",
                               field=field_name, address=repr(address), reason=error), field_name) from None


def build_message(draft: Draft) -> EmailMessage:
    """The MIME message for a draft; raises InvalidMessage with the offending field."""
    check_draft(draft)
    sender = checked_address(draft.sender, "from")
    message = EmailMessage(policy=POLICY)
    message["From"] = formataddr((no_line_breaks(draft.sender_name or "", "from_name"), sender))
    address_headers(message, draft)
    message["Subject"] = no_line_breaks(draft.subject, "subject")
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content(draft.text or "This message is in HTML.")
    if draft.html:
        message.add_alternative(draft.html, subtype="html")
    attach(message, draft.attachments)
    return message


def international(addresses: list[str]) -> bool:
    """Whether an envelope needs SMTPUTF8: an address outside ASCII."""
    return not all(address.isascii() for address in addresses)


def message_bytes(message: EmailMessage, envelope: list[str]) -> bytes:
    """The message as it goes on the wire (CRLF line ends; UTF-8 headers only when the envelope needs SMTPUTF8),
    as smtplib's send_message would write it."""
    policy = message.policy.clone(utf8=True) if international(envelope) else message.policy
    buffer = BytesIO()
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    return buffer.getvalue()


def check_draft(draft: Draft) -> None:
    """Refuse a draft that can never be sent: no recipient, too many, no body."""
    if not draft.recipients:
        raise InvalidMessage(_("Give at least one recipient."), "to")
    if len(draft.recipients) > MAX_RECIPIENTS:
        raise InvalidMessage(_("At most %(count)s recipients per message.", count=MAX_RECIPIENTS), "to")
    if not (draft.text or draft.html):
        raise InvalidMessage(_("Give a text or an HTML body."), "text")


def address_headers(message: EmailMessage, draft: Draft) -> None:
    """To, Cc and Reply-To, every address checked (Bcc too, though it is never written)."""
    for header, addresses in (("To", draft.to), ("Cc", draft.cc)):
        if addresses:
            message[header] = ", ".join(checked_address(a, header.lower()) for a in addresses)
    for address in draft.bcc:
        checked_address(address, "bcc")
    if draft.reply_to:
        message["Reply-To"] = checked_address(draft.reply_to, "reply_to")


def attach(message: EmailMessage, attachments: list[Attachment]) -> None:
    """Add the files, their type and name checked like every header value."""
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        content_type = checked_content_type(attachment.content_type, f"{where}.content_type")
        maintype, _slash, subtype = content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=no_line_breaks(attachment.filename, f"{where}.filename"))


def checked_content_type(value: str, field_name: str) -> str:
    """A bare type/subtype: parameters would let the sender rename the file or change its charset."""
    if not CONTENT_TYPE.fullmatch(value):
        raise InvalidMessage(_("%(field)s must be a type/subtype such as text/csv, without parameters.",
                               field=field_name), field_name)
    return value
