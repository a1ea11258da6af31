"""Transports: what carries built messages to the provider. Today SMTP (XOAUTH2 or a password); the providers'
HTTPS APIs join it when SMTP is closed."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from .smtp import Delivery, Trace


@dataclass(frozen=True)
class Envelope:
    """A message as it goes on the wire, with the sender and recipients it is delivered for."""

    data: bytes
    sender: str
    recipients: list[str]
    message_id: str


class Send(Protocol):
    """Delivers one message in a session; MailError when it cannot go."""

    def __call__(self, envelope: Envelope, meanwhile: Callable[[], None] | None = None) -> Delivery:
        """`meanwhile` runs once, while the provider takes the message in (before the call returns, at the
        latest): work that may overlap the wait."""


class Transport(Protocol):
    """Delivers messages for one authenticated mailbox, several per session (an SMTP connection, say)."""

    def mailbox(self) -> str:
        """The mailbox messages go out as, for drafts that name no sender ("" when unknown)."""

    def check_ready(self) -> None:
        """Raise MailNotConfigured or NotAuthorized when only an administrator can make sending possible; asks no
        server anything."""

    def session(self, trace: Trace) -> AbstractContextManager[Send]:
        """An open, authenticated session; MailError or OAuthError when it cannot be had."""


def deliver_all(transport: Transport, envelopes: list[Envelope], trace: Trace) -> None:
    """Deliver every envelope in one session, or raise at the first that cannot go."""
    with transport.session(trace) as send:
        for envelope in envelopes:
            send(envelope)
