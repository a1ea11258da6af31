"""Which mailbox sends a message under app-only sign-in, where no person's account decides: the mailbox of its From
address when it is listed on the OAuth page; otherwise, as the page says, the default mailbox (the first listed)
with the original sender kept in Reply-To, or a refusal. The envelope sender is that mailbox, so the worker knows
whom to sign in as from the message alone."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..mail.errors import InvalidMessage
from ..models import MailServer, OAuthSettings
from ..providers import DELEGATED
from ..text import lines

SEND_AS_DEFAULT = "default_mailbox"  # OAuthSettings.unlisted_sender: send unlisted senders as the default mailbox


@dataclass(frozen=True)
class SendingMailboxes:
    """The mailboxes an application or a service account may send as, the first being the default."""

    listed: tuple[str, ...]
    unlisted_as_default: bool

    @property
    def default(self) -> str:
        return self.listed[0] if self.listed else ""

    def listed_as(self, address: str) -> str | None:
        """The listed mailbox this address names (addresses compare without regard to case), or None."""
        wanted = address.casefold()
        return next((mailbox for mailbox in self.listed if mailbox.casefold() == wanted), None)

    def route(self, sender: str) -> tuple[str, bool]:
        """The mailbox a message from `sender` goes out as, and whether its From must become that mailbox; an
        InvalidMessage when the sender is not listed and unlisted senders are refused."""
        mailbox = self.listed_as(sender)
        if mailbox:
            return mailbox, False
        if self.unlisted_as_default and self.default:
            return self.default, True
        if not self.listed:
            raise InvalidMessage(_("No mailbox is listed for app-only sign-in: list the mailboxes to send as on the "
                                   "OAuth page."), "from")
        raise InvalidMessage(_("%(sender)s is not one of the mailboxes this console sends as (%(listed)s): list it "
                               "on the OAuth page, or choose there to send unlisted senders as the default mailbox.",
                               sender=sender, listed=", ".join(self.listed)), "from")


def sending_mailboxes(mail: MailServer) -> SendingMailboxes | None:
    """The mailboxes messages are routed to, when OAuth sends with app-only sign-in."""
    return app_mailboxes() if mail.authentication == "oauth" else None


def app_mailboxes() -> SendingMailboxes | None:
    """The mailboxes of app-only sign-in, read without decrypting any credential; None under delegated sign-in,
    where the authorized account sends."""
    row = db.session.execute(select(OAuthSettings.sign_in, OAuthSettings.mailboxes, OAuthSettings.unlisted_sender)
                             .where(OAuthSettings.id == 1)).first()
    if row is None or row.sign_in == DELEGATED:
        return None
    return SendingMailboxes(tuple(lines(row.mailboxes)), row.unlisted_sender == SEND_AS_DEFAULT)
