"""One SMTP connection of the relay: aiosmtpd's protocol, with enhanced status codes on every reply, a cap on
the connections open at once, a limit on how long one may last, and a record of those receiving a message so that a
stopping relay lets them finish."""

import asyncio

from aiosmtpd.smtp import SMTP, Envelope, Session

from . import replies


class RelayEnvelope(Envelope):
    """aiosmtpd's envelope, with the most recipients the provider takes in one message (known at MAIL FROM)."""

    max_recipients: int = 0


class RelaySession(Session):
    """aiosmtpd's session, quiet: aiosmtpd sets login_data at every AUTH and its property logs a deprecation."""

    login_data = None


class Connections:
    """The relay's open connections: at most `limit` at once; which of them are receiving a message."""

    def __init__(self, limit: int):
        self.limit = limit
        self.open: set["RelaySMTP"] = set()

    def admit(self, connection: "RelaySMTP") -> bool:
        """Count a new connection in, if there is room for it."""
        if len(self.open) >= self.limit:
            return False
        self.open.add(connection)
        return True

    def release(self, connection: "RelaySMTP") -> None:
        """A connection ended: its place is free."""
        self.open.discard(connection)

    def receiving(self) -> bool:
        """Whether a client is sending a message, or waiting for its reply (it may be committing)."""
        return any(connection.receiving for connection in self.open)

    def close_all(self, reply: str) -> None:
        """Say why and hang up on every open connection."""
        for connection in list(self.open):
            connection.hang_up(reply)


class RelaySMTP(SMTP):
    """aiosmtpd's SMTP protocol for one client connection of the relay."""

    def __init__(self, handler, *, connections: Connections, session_timeout: float, **options):
        super().__init__(handler, **options)
        self.connections, self.session_timeout = connections, session_timeout
        self.turned_away = False
        self.receiving = False  # between DATA and the reply to it: the message may be committing
        self.session_end: asyncio.TimerHandle | None = None

    def _create_envelope(self) -> RelayEnvelope:
        """aiosmtpd's hook for the envelope class: ours carries the recipient limit."""
        return RelayEnvelope()

    def _create_session(self) -> RelaySession:
        """aiosmtpd's hook for the session class: ours does not log at every AUTH."""
        return RelaySession(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A new client is served only while there is room; (STARTTLS calls this again for the same client.)"""
        if self.session is None and not self.connections.admit(self):
            self.turned_away = True
            transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")
            transport.close()
            return
        if self.session is None:
            self.session_end = self.loop.call_later(self.session_timeout, self.hang_up, replies.SESSION_TOO_LONG)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        """Free the connection's place and stop its clock (a turned-away one never had either)."""
        if self.turned_away:
            return
        self.connections.release(self)
        if self.session_end is not None:
            self.session_end.cancel()
        super().connection_lost(error)

    def hang_up(self, reply: str) -> None:
        """Tell the client why, and close the connection."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply.encode() + b"\r\n")
            self.transport.close()

    async def push(self, status: str | bytes) -> None:
        """Every reply goes out with its enhanced status code, aiosmtpd's own included."""
        await super().push(replies.with_enhanced_code(status) if isinstance(status, str) else status)

    async def smtp_DATA(self, arg: str) -> None:
        """DATA, marked as receiving until it is answered, so that a stopping relay waits for it."""
        self.receiving = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self.receiving = False
