"""The relay's aiosmtpd handler: who may send (AUTH PLAIN or LOGIN with an API key, over TLS unless from
loopback; or a client on a trusted network), the provider's recipient limit, and each message committed to the
outbox before the client hears "250 Queued". Database work runs in worker threads, never on the event loop."""

import asyncio
import binascii
import logging
from base64 import b64decode

from aiosmtpd.smtp import MISSING, AuthResult

from ..mail.errors import InvalidMessage
from . import replies
from .backend import Backend
from .credentials import RelayClient, check_credentials, trusted_client
from .settings import RelaySettings, client_ip
from .submission import queue_message, recipient_limit

log = logging.getLogger(__name__)
USERNAME_CHALLENGE, PASSWORD_CHALLENGE = "Username:", "Password:"  # what AUTH LOGIN clients expect to be asked
FIELD_REPLIES = {"size": replies.TOO_BIG, "to": replies.REFUSED_RECIPIENTS, "from": replies.SENDER_NOT_ALLOWED}


def peer_address(session) -> str | None:
    """The client's IP address as text."""
    return session.peer[0] if session.peer else None


def from_loopback(session) -> bool:
    """Whether the client runs on this machine, where nothing on the network can read what it sends."""
    ip = client_ip(peer_address(session))
    return ip is not None and ip.is_loopback


def encrypted(server) -> bool:
    """Whether the connection runs over TLS (after STARTTLS, or on the implicit-TLS listener)."""
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None


def utf8_text(address: str) -> bool:
    """aiosmtpd keeps bytes that are not UTF-8 as surrogates: such an address can be neither stored nor sent."""
    try:
        address.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refusal(error: InvalidMessage) -> str:
    """The reply to a message the outbox refused, the reason on one line."""
    return FIELD_REPLIES.get(error.field, replies.REFUSED).format(reason=" ".join(error.message.split()))


async def client_response(server, args: list[str], challenge: str):
    """The response sent with AUTH, or the answer to a 334 challenge; MISSING once an error was answered."""
    if len(args) == 1:
        return await server.challenge_auth(challenge)
    if args[1] == "=":  # RFC 4954: an empty initial response
        return b""
    try:
        return b64decode(args[1], validate=True)
    except binascii.Error:
        await server.push(replies.UNDECODABLE)
        return MISSING


class RelayHandler:
    """Hooks aiosmtpd calls for each command of each connection."""

    def __init__(self, settings: RelaySettings, backend: Backend):
        self.settings, self.backend = settings, backend

    def may_authenticate(self, server) -> bool:
        """AUTH sends the key readable: only over TLS, or on this machine."""
        return encrypted(server) or from_loopback(server.session)

    def client(self, session) -> RelayClient | None:
        """Who sends on this connection: the authenticated client, one on a trusted network, or nobody yet."""
        if session.authenticated:
            return session.auth_data
        address = peer_address(session)
        return trusted_client(address) if self.settings.trusts(address) else None

    async def handle_EHLO(self, server, session, envelope, hostname: str, responses: list[str]) -> list[str]:
        """The extensions, AUTH only where it may be used, and the two aiosmtpd supports without saying so."""
        session.host_name = hostname
        offered = [line for line in responses[1:-1]
                   if not line.startswith("250-AUTH") or self.may_authenticate(server)]
        return [responses[0], *offered, *replies.EXTENSIONS, responses[-1]]

    async def auth_PLAIN(self, server, args: list[str]) -> AuthResult:
        """RFC 4616: authorization id, user name and password (the API key) in one response."""
        if not self.may_authenticate(server):
            return AuthResult(success=False, handled=False, message=replies.AUTH_NEEDS_TLS)
        response = await client_response(server, args, "")
        if response is MISSING:
            return AuthResult(success=False, handled=True)
        parts = response.split(b"\x00")
        if len(parts) != 3:
            return AuthResult(success=False, handled=False, message=replies.UNSPLITTABLE)
        return await self.verify(server, parts[1], parts[2])

    async def auth_LOGIN(self, server, args: list[str]) -> AuthResult:
        """The user name, then the password (the API key), each asked for in turn."""
        if not self.may_authenticate(server):
            return AuthResult(success=False, handled=False, message=replies.AUTH_NEEDS_TLS)
        username = await client_response(server, args, USERNAME_CHALLENGE)
        if username is MISSING:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(PASSWORD_CHALLENGE)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self.verify(server, username, password)

    async def verify(self, server, username: bytes, password: bytes) -> AuthResult:
        """Accept an API key allowed on the relay; a refusal is answered after a delay, to slow guessing down."""
        verdict = await self.backend.run(check_credentials, username.decode(errors="replace"),
                                         password.decode(errors="replace"), peer_address(server.session))
        if verdict.client is not None:
            return AuthResult(success=True, auth_data=verdict.client, message=replies.AUTHENTICATED)
        await asyncio.sleep(self.settings.auth_failure_delay)
        if verdict.wait:
            reply = replies.AUTH_THROTTLED.format(seconds=int(verdict.wait.total_seconds()))
        else:
            reply = replies.AUTH_INVALID
        return AuthResult(success=False, handled=False, message=reply)

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list[str]) -> str:
        """Only an authenticated or trusted client may send; the provider's recipient limit is read at the first
        message of the connection."""
        if self.client(session) is None:
            return replies.AUTH_REQUIRED
        if not utf8_text(address):
            return replies.BAD_ADDRESS
        if getattr(session, "max_recipients", None) is None:
            session.max_recipients = await self.backend.run(recipient_limit, self.backend.runtime)
        envelope.max_recipients = session.max_recipients
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.SENDER_OK

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        """Recipients up to the provider's limit per message."""
        if len(envelope.rcpt_tos) >= envelope.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        if not utf8_text(address):
            return replies.BAD_ADDRESS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server, session, envelope) -> str:
        """Commit the message to the outbox as received; only then say it is queued."""
        try:
            outbox_id = await self.backend.run(
                queue_message, self.backend.runtime, envelope.original_content, envelope.mail_from,
                list(envelope.rcpt_tos), self.client(session).submitter())
        except InvalidMessage as error:
            return refusal(error)
        return replies.QUEUED.format(id=outbox_id)

    async def handle_exception(self, error: Exception) -> str:
        """Anything unexpected (the database locked or down, say): logged, and the client told to try later."""
        log.error("The relay could not serve a command: %s", error, exc_info=error)
        return replies.TRY_LATER
