"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that demands AUTH, XOAUTH2 included.

XOAUTH2 failures are answered the way Google or Microsoft answer them (see /work/shared/PROTOCOL.md),
and everything the server receives is kept for assertions.

Faults a provider shows can be injected while it runs: a 421 greeting, replies to DATA, refused
recipients, a rate limit, a slow DATA reply, slow replies to everything, an outage on the same port, SMTP AUTH
disabled for the tenant. heal() ends them all.
"""

import asyncio
import binascii
import email.policy
import itertools
import re
import socket
import threading
import time
import weakref
from base64 import b64decode
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from tests.servers.tls import TestPKI, server_ssl_context

ACCEPTED = "235 2.7.0 Accepted"
MICROSOFT_FAILURE = "535 5.7.3 Authentication unsuccessful"
GOOGLE_CHALLENGE = '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
GOOGLE_FAILURE = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials"
)
AUTH_REQUIRED = "530 5.7.0 Authentication required"
THROTTLED = "421 4.7.0 Too many messages, slow down"
SMTP_AUTH_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information."
)
XOAUTH2_RE = re.compile(rb"user=([^\x01]+)\x01auth=Bearer ([^\x01]+)\x01\x01")
SECURITIES = ("starttls", "ssl", "none")
STYLES = ("google", "microsoft")


@dataclass
class ReceivedMessage:
    """One message accepted by the server, with the envelope and the authenticated identity."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    auth_login: str | None
    auth_mechanism: str | None
    connection: int  # the id of the TCP connection that carried it, shared by its other messages


@dataclass(frozen=True)
class _Identity:
    """Stored as the aiosmtpd session's auth_data once AUTH succeeds."""

    mechanism: str
    login: str


class SMTPTestServer:
    """aiosmtpd in a thread, requiring AUTH (XOAUTH2, optionally PLAIN/LOGIN) before MAIL FROM.

    messages, auth_attempts and connections record what clients did; connections counts TCP
    connections accepted, a failed implicit-TLS handshake included; accepted_times holds the
    time.monotonic() of each message accepted. Setting fail_next_auth_with answers the next AUTH
    with that reply.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        security: str = "starttls",
        pki: TestPKI | None = None,
        check_token: Callable[[str], object | None] | None = None,  # an account email, or an app's identity
        passwords: dict[str, str] | None = None,
        style: str = "microsoft",
    ):
        if security not in SECURITIES or style not in STYLES:
            raise ValueError(f"unknown security {security!r} or style {style!r}")
        if security != "none" and pki is None:
            raise ValueError(f"security {security!r} needs a pki")
        self.security = security
        self.pki = pki
        self.check_token = check_token
        self.passwords = passwords
        self.style = style
        self.shared_mailboxes: dict[str, set[str]] = {}
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[dict] = []
        self.connections = 0
        self.accepted_times: list[float] = []
        self._connection_ids = itertools.count(1)
        self._condition = threading.Condition()
        self._controller: Controller | None = None
        self._outage = False
        self.heal()

    def start(self) -> "SMTPTestServer":
        """Start listening on a free port of 127.0.0.1 and return self."""
        self.port = _free_port(self.host)
        with self._condition:
            self.connections = 0
        self.resume()
        return self

    def stop(self) -> None:
        """Stop the server and join its thread; stopping twice is harmless."""
        self._outage = False
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def stop_listening(self) -> None:
        """Play an outage: drop the open connections and refuse new ones until resume() or heal()."""
        self.stop()
        self._outage = True

    def resume(self) -> None:
        """Listen again on the same port after stop_listening() or stop(); harmless while listening."""
        self._outage = False
        if self._controller is not None:
            return
        controller = _Controller(self)
        controller.start()  # asyncio binds with SO_REUSEADDR, so the port's old connections don't block it
        with self._condition:
            self.connections -= 1  # forget the controller's own readiness probe
        self._controller = controller

    def reply_at_connect(self, reply: str) -> None:
        """Greet every new connection with reply (a 421, say) and close it, until heal()."""
        with self._condition:
            self._connect_reply = reply

    def reply_to_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies, one each, without recording the messages."""
        with self._condition:
            self._data_replies.extend(replies)

    def refuse_recipients(self, replies: dict[str, str]) -> None:
        """Refuse RCPT TO for each address with its reply, until heal(); other recipients pass."""
        with self._condition:
            self._recipient_replies.update({address.lower(): reply for address, reply in replies.items()})

    def throttle(self, limit: int, window: float = 60.0, reply: str = THROTTLED) -> None:
        """Answer MAIL FROM with reply while limit messages were accepted in the last window seconds."""
        with self._condition:
            self._rate_limit = (limit, window, reply)

    def hang_after_data(self, seconds: float) -> None:
        """Hold every DATA reply this long, until heal(); a message is kept only if its client waited."""
        with self._condition:
            self._data_delay = seconds

    def answer_slowly(self, seconds: float) -> None:
        """Hold every reply line (the greeting included) this long before sending it, until heal()."""
        with self._condition:
            self._reply_delay = seconds

    def disable_smtp_auth(self) -> None:
        """Answer every AUTH, whatever its mechanism, as Exchange Online does once the tenant turned SMTP AUTH off,
        until heal()."""
        with self._condition:
            self._auth_disabled = True

    def heal(self) -> None:
        """End every injected fault, stop_listening() included: the provider is well again."""
        with self._condition:
            self.fail_next_auth_with: str | None = None
            self._auth_disabled = False
            self._connect_reply: str | None = None
            self._data_replies: deque[str] = deque()
            self._recipient_replies: dict[str, str] = {}
            self._rate_limit: tuple[int, float, str] | None = None
            self._data_delay = 0.0
            self._reply_delay = 0.0
        if self._outage:
            self.resume()

    def __enter__(self) -> "SMTPTestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least count messages arrived and return them all."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} message(s) received, expected {count}")
            return list(self.messages)

    def _mailbox_allowed(self, token: str, mailbox: str) -> bool:
        """Tell whether token's account may send as mailbox: itself or one of its shared mailboxes. An app-only
        token's identity says itself which mailboxes it may sign in as (Microsoft: those the application was granted
        in Exchange; Google: the one the service account acts as)."""
        account = self.check_token(token) if self.check_token else None
        if account is None:
            return False
        if not isinstance(account, str):
            return account.may_send_as(mailbox)
        allowed = {account.lower()}
        for owner, mailboxes in self.shared_mailboxes.items():
            if owner.lower() == account.lower():
                allowed.update(m.lower() for m in mailboxes)
        return mailbox.lower() in allowed

    def _record(self, attribute: str, item) -> None:
        with self._condition:
            getattr(self, attribute).append(item)
            self._condition.notify_all()

    def _count_connection(self) -> tuple[int, str | None]:
        """Count an accepted connection; return its id and the reply to turn it away with, if any."""
        with self._condition:
            self.connections += 1
            return next(self._connection_ids), self._connect_reply

    def _take_forced_reply(self) -> str | None:
        """The reply the next AUTH must get instead of its verdict: fail_next_auth_with once, or SMTP AUTH off."""
        with self._condition:
            reply, self.fail_next_auth_with = self.fail_next_auth_with, None
            return reply or (SMTP_AUTH_DISABLED if self._auth_disabled else None)

    def _recipient_reply(self, address: str) -> str | None:
        with self._condition:
            return self._recipient_replies.get(address.lower())

    def _throttle_reply(self) -> str | None:
        """The rate limit's reply when the last window already holds limit accepted messages."""
        with self._condition:
            if self._rate_limit is None:
                return None
            limit, window, reply = self._rate_limit
            since = time.monotonic() - window
            return reply if sum(accepted > since for accepted in self.accepted_times) >= limit else None

    def _data_fault(self) -> str | None:
        with self._condition:
            return self._data_replies.popleft() if self._data_replies else None

    def _accept(self, message: ReceivedMessage) -> None:
        with self._condition:
            self.messages.append(message)
            self.accepted_times.append(time.monotonic())
            self._condition.notify_all()


class _Controller(Controller):
    """Controller that configures SMTP from the test server, counts and closes its connections."""

    def __init__(self, server: SMTPTestServer):
        self._test_server = server
        self._protocols: weakref.WeakSet = weakref.WeakSet()
        handler = _Handler(server)
        context = server_ssl_context(server.pki) if server.security != "none" else None
        super().__init__(
            handler,
            hostname=server.host,
            port=server.port,
            ssl_context=context if server.security == "ssl" else None,
            server_hostname="localhost",
            tls_context=context if server.security == "starttls" else None,
            require_starttls=server.security == "starttls",
            # Implicit TLS leaves aiosmtpd's own STARTTLS-based check unaware of the encryption.
            auth_require_tls=server.security == "starttls",
            auth_exclude_mechanism=[] if server.passwords is not None else ["PLAIN", "LOGIN"],
            authenticator=handler.authenticate,
            enable_SMTPUTF8=True,  # Google and Microsoft accept internationalized addresses
        )

    def factory(self):
        """Create the protocol for one accepted connection: SMTP, or a greeting that turns it away."""
        connection_id, connect_reply = self._test_server._count_connection()
        if connect_reply is not None:
            return _TurnAway(connect_reply)
        protocol = _SMTP(self._test_server, self.handler, **self.SMTP_kwargs)
        protocol.connection_id = connection_id
        self._protocols.add(protocol)
        return protocol

    def stop(self, no_assert: bool = False) -> None:
        """Drop the connections clients left open, then stop the loop and join its thread."""
        asyncio.run_coroutine_threadsafe(self._abort_connections(), self.loop).result(timeout=5)
        super().stop(no_assert)

    async def _abort_connections(self) -> None:
        for protocol in list(self._protocols):
            if protocol.transport is not None and not protocol.transport.is_closing():
                protocol.transport.abort()
        # Let the aborted transports run their connection_lost callbacks, which close the sockets.
        await asyncio.sleep(0)


class _SMTP(SMTP):
    """aiosmtpd's SMTP, holding each reply line as long as the test server says."""

    def __init__(self, server: SMTPTestServer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._test_server = server

    async def push(self, status) -> None:
        if self._test_server._reply_delay:
            await asyncio.sleep(self._test_server._reply_delay)
        await super().push(status)


class _TurnAway(asyncio.Protocol):
    """A connection the server will not serve: it gets the reply as its greeting, then is closed."""

    def __init__(self, reply: str):
        self._reply = reply

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the reply and close."""
        transport.write(self._reply.encode() + b"\r\n")
        transport.close()


class _Handler:
    """aiosmtpd handler: AUTH mechanisms, the AUTH-before-MAIL rule, injected faults and message recording."""

    def __init__(self, server: SMTPTestServer):
        self._server = server

    async def auth_XOAUTH2(self, smtp, args: list[str]) -> AuthResult:
        """Check "user=MAILBOX\\x01auth=Bearer TOKEN\\x01\\x01" sent inline or after a 334."""
        raw = await _client_response(smtp, args)
        if raw is MISSING:
            return AuthResult(success=False, handled=True)
        mailbox, token = _parse_xoauth2(raw)
        ok = token is not None and self._server._mailbox_allowed(token, mailbox)
        return self._verdict("XOAUTH2", mailbox, ok) or await self._reject_xoauth2(smtp)

    def authenticate(
        self, smtp, session, envelope, mechanism: str, auth_data: LoginPassword
    ) -> AuthResult:
        """Check a PLAIN or LOGIN password against the server's passwords."""
        login = auth_data.login.decode(errors="replace")
        ok = self._server.passwords.get(login) == auth_data.password.decode(errors="replace")
        return self._verdict(mechanism, login, ok) or AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self, smtp, session, envelope, address: str, mail_options: list[str]
    ) -> str:
        """Refuse MAIL FROM before AUTH (here, not with auth_required, to work without TLS too) and when throttled."""
        if not session.authenticated:
            return AUTH_REQUIRED
        throttled = self._server._throttle_reply()
        if throttled:
            return _fault(smtp, throttled)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp, session, envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse the recipients the test named, accept the others."""
        refused = self._server._recipient_reply(address)
        if refused:
            return _fault(smtp, refused)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope) -> str:
        """After any delay asked for, answer an injected reply or record the message and accept it."""
        # A client hanging up during the delay cancels this coroutine, so its message is not kept.
        await asyncio.sleep(self._server._data_delay)
        fault = self._server._data_fault()
        if fault:
            return _fault(smtp, fault)
        identity = session.auth_data
        self._server._accept(ReceivedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=envelope.original_content,
            message=BytesParser(policy=email.policy.default).parsebytes(envelope.original_content),
            auth_login=identity.login if identity else None,
            auth_mechanism=identity.mechanism if identity else None,
            connection=smtp.connection_id,
        ))
        return "250 2.0.0 OK"

    def _verdict(self, mechanism: str, login: str | None, ok: bool) -> AuthResult | None:
        """Record the attempt; return the result unless it is an ordinary failure (None)."""
        forced = self._server._take_forced_reply()
        attempt = {"mechanism": mechanism, "login": login, "ok": ok and not forced}
        self._server._record("auth_attempts", attempt)
        if forced:
            return AuthResult(success=False, handled=False, message=forced)
        if ok:
            return AuthResult(success=True, auth_data=_Identity(mechanism, login), message=ACCEPTED)
        return None

    async def _reject_xoauth2(self, smtp) -> AuthResult:
        if self._server.style == "microsoft":
            return AuthResult(success=False, handled=False, message=MICROSOFT_FAILURE)
        # Google first sends an error challenge; the client must answer it before the 535.
        if await smtp.challenge_auth(GOOGLE_CHALLENGE) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=GOOGLE_FAILURE)


def _fault(smtp, reply: str) -> str:
    """Return an injected reply for aiosmtpd to send; after a 421 the server closes, as RFC 5321 says."""
    if reply.startswith("421"):
        smtp.loop.call_soon(smtp.transport.close)
    return reply


async def _client_response(smtp, args: list[str]):
    """Return the decoded initial response, or ask for it with "334 "; MISSING after an error reply."""
    if len(args) == 1:
        return await smtp.challenge_auth("")
    try:
        return b64decode(args[1], validate=True)
    except binascii.Error:
        await smtp.push("501 5.5.2 Can't decode base64")
        return MISSING


def _parse_xoauth2(raw: bytes) -> tuple[str | None, str | None]:
    """Split an XOAUTH2 string into (mailbox, token); (None, None) when it is malformed."""
    match = XOAUTH2_RE.fullmatch(raw)
    if match is None:
        return None, None
    return match[1].decode(errors="replace"), match[2].decode(errors="replace")


def _free_port(host: str) -> int:
    """Pick a free TCP port (aiosmtpd 1.4.6's Controller cannot start on port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
