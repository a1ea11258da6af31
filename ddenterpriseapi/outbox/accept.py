"""Accepting messages: each built (or, received whole through the relay, completed) and checked now, so what can
never be sent is refused at once, then committed with its body encrypted before the caller hears "accepted"."""

from dataclasses import dataclass, replace

from flask_babel import gettext as _

from ..extensions import db
from ..mail.errors import InvalidMessage
from ..mail.message import Draft, build_message, international, message_bytes
from ..mail.raw import first_address, raw_value, read_headers, sent_as, with_missing_headers
from ..mail.sending import with_server_sender
from ..mail.server import get_mail_server
from ..models import MailServer, OutboxMessage
from ..oauth.settings import chosen_provider
from ..oauth.tokens import authorized_account
from ..providers import Provider
from ..runtime import Runtime
from ..text import truncated
from .mailboxes import SendingMailboxes, sending_mailboxes
from .statuses import QUEUED

SUBJECT_CHARS = 255  # kept for the Outbox page; the message itself keeps the whole subject


@dataclass(frozen=True)
class Submitter:
    """Who handed the messages in: the API (with its key), the relay (with its user), or the console's alerts."""

    origin: str
    label: str
    api_key_id: int | None = None


def sending_limits(runtime: Runtime, mail: MailServer) -> Provider:
    """The preset whose limits (recipients, size) apply: the authorized provider's with OAuth (its HTTPS API's size
    when that is the transport), else Custom's."""
    if mail.authentication != "oauth":
        return runtime.providers["custom"]
    provider = runtime.providers[chosen_provider()]
    if mail.transport == provider.mail_api and provider.api_max_message_bytes:
        return replace(provider, max_message_bytes=provider.api_max_message_bytes)
    return provider


def known_mailbox(mail: MailServer, mailboxes: SendingMailboxes | None) -> str:
    """The mailbox that will authenticate, known without asking the provider (it may be down): with app-only
    sign-in the default mailbox, else the username, else the authorized account."""
    if mailboxes is not None:
        return mailboxes.default
    account = authorized_account() if mail.authentication == "oauth" and not mail.username else None
    return mail.username or account or ""


def routed(draft: Draft, mailboxes: SendingMailboxes) -> Draft:
    """The draft sent from its listed mailbox (written as listed: the worker signs in once per mailbox), or from
    the default one with its sender as Reply-To."""
    mailbox, rewrite = mailboxes.route(draft.sender)
    return replace(draft, sender=mailbox, reply_to=(draft.reply_to or draft.sender) if rewrite else draft.reply_to)


def routed_raw(data: bytes, envelope_from: str, mailboxes: SendingMailboxes, utf8: bool) -> tuple[bytes, str]:
    """A relayed message and its envelope sender, routed by its From address (else by its envelope sender)."""
    sender = first_address(str(read_headers(data)["From"] or ""))[1] or envelope_from
    mailbox, rewrite = mailboxes.route(sender)
    return (sent_as(data, mailbox, utf8) if rewrite else data), mailbox


def check_recipients(count: int, limits: Provider) -> None:
    """Refuse more recipients than the provider takes in one message."""
    if count > limits.max_recipients:
        raise InvalidMessage(_("At most %(count)s recipients per message with %(provider)s.",
                               count=limits.max_recipients, provider=limits.label), "to")


def check_size(size: int, limits: Provider, field: str) -> None:
    """Refuse a message larger than the provider takes."""
    if size > limits.max_message_bytes:
        raise InvalidMessage(_("The message is %(size)s MB; %(provider)s accepts at most %(limit)s MB.",
                               size=round(size / 2**20, 1), provider=limits.label,
                               limit=limits.max_message_bytes // 2**20), field)


@dataclass(frozen=True)
class Receipt:
    """What the submitter is told of a message accepted."""

    id: int
    message_id: str
    status: str = QUEUED


def outbox_row(submitter: Submitter, data: bytes, message_id: str, sender: str, recipients: list[str],
               subject: str) -> dict:
    """The columns of a new outbox message."""
    return dict(status=QUEUED, origin=submitter.origin, submitted_by=submitter.label[:100],
                api_key_id=submitter.api_key_id, message_id=message_id, sender=sender, recipients=recipients,
                subject=truncated(subject, SUBJECT_CHARS), size=len(data), body=data)


def store(rows: list[dict]) -> list[Receipt]:
    """Insert the messages in the session's transaction, in one statement on the table (no session objects to
    track); their receipts, in order."""
    table = OutboxMessage.__table__
    inserted = db.session.execute(
        table.insert().returning(table.c.id, table.c.message_id, sort_by_parameter_order=True), rows)
    return [Receipt(row.id, row.message_id) for row in inserted]


def outbox_message(draft: Draft, limits: Provider, submitter: Submitter) -> dict:
    """The draft as the columns of an outbox message, or InvalidMessage naming what can never be sent."""
    check_recipients(len(draft.recipients), limits)
    message = build_message(draft)
    data = message_bytes(message, [draft.sender, *draft.recipients])
    check_size(len(data), limits, "attachments")
    return outbox_row(submitter, data, message["Message-ID"], draft.sender, draft.recipients, draft.subject)


def accept(runtime: Runtime, drafts: list[Draft], submitter: Submitter) -> list[Receipt]:
    """Build every draft (all are refused if one cannot be sent) and insert them; the caller commits, with
    whatever else belongs to the same answer."""
    mail = get_mail_server()
    mailboxes = sending_mailboxes(mail)
    mailbox = known_mailbox(mail, mailboxes)
    drafts = [with_server_sender(draft, mail, mailbox) for draft in drafts]
    if any(not draft.sender for draft in drafts):
        raise InvalidMessage(_("Name a sender (from), or set the Sender address on the Email server page: no "
                               "account is authorized yet to send as."), "from")
    if mailboxes is not None:
        drafts = [routed(draft, mailboxes) for draft in drafts]
    limits = sending_limits(runtime, mail)
    return store([outbox_message(draft, limits, submitter) for draft in drafts])


def accept_raw(runtime: Runtime, data: bytes, envelope_from: str, recipients: list[str],
               submitter: Submitter) -> Receipt:
    """A message received whole (through the relay), kept as received: checked against the provider's limits,
    its From rewritten only when the relay's sender policy says to send as the mailbox, Message-ID, Date and From
    added only when missing. Inserted; the caller commits."""
    mail = get_mail_server()
    limits = sending_limits(runtime, mail)
    check_recipients(len(recipients), limits)
    check_size(len(data), limits, "size")
    utf8 = international([envelope_from, *recipients])
    mailboxes = sending_mailboxes(mail)
    mailbox = (mail.sender_address or known_mailbox(mail, mailboxes)) if mail.relay_sender == "mailbox" else None
    if mailbox:
        data, envelope_from = sent_as(data, mailbox, utf8), mailbox
    if mailboxes is not None:
        data, envelope_from = routed_raw(data, envelope_from, mailboxes, utf8)
    data = with_missing_headers(data, envelope_from, utf8)
    return store([outbox_row(submitter, data, message_id_of(data), envelope_from, recipients, subject_of(data))])[0]


def message_id_of(data: bytes) -> str:
    """The Message-ID as the message gives it, on one line."""
    return truncated(" ".join(raw_value(data, "Message-ID").decode(errors="replace").split()), 255)


def subject_of(data: bytes) -> str:
    """The subject, decoded, on one line for the Outbox page (outbox_row cuts it to the column)."""
    return " ".join(str(read_headers(data)["Subject"] or "").split())
