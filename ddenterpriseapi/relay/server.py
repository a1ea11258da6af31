"""Starting and stopping the relay: its listeners (plain text offering STARTTLS when a certificate is set, and the
implicit-TLS one), served on one event loop until told to stop; a message being received is let finish."""

import asyncio
import ssl
import threading
from collections.abc import Callable
from functools import partial

from ..console_error import ConsoleError
from . import replies
from .backend import Backend
from .handler import RelayHandler
from .protocol import Connections, RelaySMTP
from .settings import Listener, RelaySettings

POLL_SECONDS = 0.2  # how soon a stop request is noticed
IDENT = "ESMTP ddenterpriseapi relay"  # the greeting after the host name


class RelayNotStarted(ConsoleError):
    """The relay cannot listen: the address is taken or not this machine's, the certificate unreadable."""


def tls_context(settings: RelaySettings) -> ssl.SSLContext | None:
    """The server side of TLS with the configured certificate, or None without one."""
    if not settings.has_certificate:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as error:
        raise RelayNotStarted(f"The relay's certificate cannot be loaded ({error}): check RELAY_TLS_CERT and "
                              "RELAY_TLS_KEY.") from None
    return context


def describe(listener: Listener, context: ssl.SSLContext | None) -> str:
    """A listener as the start-up line names it."""
    security = "TLS" if listener.implicit_tls else "STARTTLS" if context else "plain text"
    return f"{listener} ({security})"


class RelayServer:
    """The relay: run() serves every listener until stop is set."""

    def __init__(self, settings: RelaySettings, backend: Backend):
        self.settings = settings
        self.handler = RelayHandler(settings, backend)
        self.connections = Connections(settings.max_connections)

    def run(self, stop: threading.Event, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until stop is set; on_ready hears where it listens, once it does."""
        asyncio.run(self.serve(stop, on_ready))

    async def serve(self, stop: threading.Event, on_ready: Callable[[str], None] | None) -> None:
        context = tls_context(self.settings)
        servers = []
        try:
            for listener in self.settings.listeners:
                servers.append(await self.listen(listener, context))
            if on_ready is not None:
                on_ready(", ".join(describe(listener, context) for listener in self.settings.listeners))
            while not stop.is_set():
                await asyncio.sleep(POLL_SECONDS)
        finally:
            for server in servers:
                server.close()
            await self.finish()

    async def listen(self, listener: Listener, context: ssl.SSLContext | None) -> asyncio.Server:
        """Listen on one address; STARTTLS is offered on a plain listener when there is a certificate."""
        loop = asyncio.get_running_loop()
        factory = partial(self.connection, loop, None if listener.implicit_tls else context)
        try:
            return await loop.create_server(factory, listener.host, listener.port,
                                            ssl=context if listener.implicit_tls else None)
        except OSError as error:
            raise RelayNotStarted(f"The relay cannot listen on {listener}: {error.strerror or error}.") from None

    def connection(self, loop: asyncio.AbstractEventLoop, starttls: ssl.SSLContext | None) -> RelaySMTP:
        """The protocol serving one client."""
        settings = self.settings
        return RelaySMTP(self.handler, connections=self.connections, session_timeout=settings.session_timeout,
                         data_size_limit=settings.max_size, enable_SMTPUTF8=True, hostname=settings.hostname,
                         ident=IDENT, tls_context=starttls, timeout=settings.idle_timeout, auth_require_tls=False,
                         loop=loop)

    async def finish(self) -> None:
        """Let the messages being received finish (for the grace period at most), then hang up on every client."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_grace
        while self.connections.receiving() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.connections.close_all(replies.SHUTTING_DOWN)
        await asyncio.sleep(0)  # the closed connections' callbacks run before the loop ends
