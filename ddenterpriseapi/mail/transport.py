"""Transports: what carries built messages to the provider. Today SMTP (XOAUTH2 or a password); the providers'
HTTPS APIs join it when SMTP is closed."""

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from .smtp import Trace


@dataclass(frozen=True)
class Envelope:
    """A built message with the sender and recipients it is delivered for."""

    message: EmailMessage
    sender: str
    recipients: list[str]


class Transport(Protocol):
    """Delivers built messages for one authenticated mailbox."""

    def mailbox(self) -> str:
        """The mailbox messages go out as, for drafts that name no sender ("" when unknown)."""

    def deliver(self, envelopes: list[Envelope], trace: Trace) -> None:
        """Deliver every envelope, or raise MailError or OAuthError at the first that cannot go."""
