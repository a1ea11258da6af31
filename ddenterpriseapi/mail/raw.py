"""A message received as bytes (through the relay), read and amended without re-serializing it: the headers the
console adds or changes are written as new lines, and every other byte stays as the client sent it."""

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, getaddresses, make_msgid

LINE = re.compile(rb"[^\n]*\n|[^\n]+")  # the last line may lack its line end
FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")  # printable US-ASCII but the colon, then the colon


def read_headers(data: bytes) -> EmailMessage:
    """The header fields, parsed to be read (values decoded), never to be written back."""
    return BytesHeaderParser(policy=SMTPUTF8).parsebytes(data)


def header_line(name: str, value: str, utf8: bool) -> bytes:
    """One header field as it goes on the wire: CRLF, folded; UTF-8 only when the envelope says SMTPUTF8."""
    policy = SMTPUTF8 if utf8 else SMTP  # without UTF-8, non-ASCII text goes as RFC 2047 encoded words
    return policy.header_factory(name, value).fold(policy=policy).encode("utf-8" if utf8 else "ascii")


def with_headers(data: bytes, lines: list[bytes]) -> bytes:
    """The message with these header lines put first."""
    return b"".join(lines) + data


def header_fields(data: bytes) -> list[tuple[int, int, bytes]]:
    """Where each header field of the header block starts and ends (its folded lines included), and its name in
    lower case."""
    fields: list[tuple[int, int, bytes]] = []
    for line in LINE.finditer(data):
        if line.group().strip(b"\r\n") == b"":
            break  # the blank line that ends the header block
        if line.group()[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], line.end(), fields[-1][2])
            continue
        name = FIELD_NAME.match(line.group())
        if name is None:
            break  # not a header field: the body starts here, however malformed
        fields.append((line.start(), line.end(), name.group(1).lower()))
    return fields


def header_names(data: bytes) -> set[bytes]:
    """The names of the message's header fields, in lower case."""
    return {name for _start, _end, name in header_fields(data)}


def raw_value(data: bytes, name: str) -> bytes | None:
    """The first field of this name as sent: everything after its colon, folded lines and line end included."""
    wanted = name.lower().encode()
    for start, end, field_name in header_fields(data):
        if field_name == wanted:
            field = data[start:end]
            return field[FIELD_NAME.match(field).end():]
    return None


def replace_header(data: bytes, name: str, lines: list[bytes]) -> bytes:
    """The message with the first field of this name replaced by these lines, in its place (put first when the
    message has none)."""
    wanted = name.lower().encode()
    for start, end, field_name in header_fields(data):
        if field_name == wanted:
            return data[:start] + b"".join(lines) + data[end:]
    return with_headers(data, lines)


def first_address(value: str) -> tuple[str, str]:
    """The display name and address of a From value, ("", "") when it has none."""
    pairs = [pair for pair in getaddresses([value]) if pair[1]]
    return pairs[0] if pairs else ("", "")


def message_id_domain(address: str) -> str:
    """The right-hand side of a new Message-ID: the sender's domain, in ASCII."""
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode() if domain else "localhost"
    except UnicodeError:
        return "localhost"


def with_missing_headers(data: bytes, sender: str, utf8: bool) -> bytes:
    """The message with a Message-ID, a Date and a From (the envelope's sender) put first if it lacks them; a
    message that has them is returned as it is."""
    names = header_names(data)
    missing = []
    if b"message-id" not in names:
        missing.append(header_line("Message-ID", make_msgid(domain=message_id_domain(sender)), utf8))
    if b"date" not in names:
        missing.append(header_line("Date", format_datetime(datetime.now(UTC)), utf8))
    if b"from" not in names:
        missing.append(header_line("From", sender, utf8))
    return with_headers(data, missing)


def sent_as(data: bytes, mailbox: str, utf8: bool) -> bytes:
    """The message From the mailbox (under the original display name), the original From kept as Reply-To unless
    the message names one: replies still reach the program's address. Only those lines change."""
    original = raw_value(data, "From")
    display_name = first_address(str(read_headers(data)["From"] or ""))[0] if original is not None else ""
    lines = [header_line("From", str(Address(display_name=display_name, addr_spec=mailbox)), utf8)]
    if original is not None and b"reply-to" not in header_names(data):
        lines.append(b"Reply-To:" + original)
    return replace_header(data, "From", lines)
