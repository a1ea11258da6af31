"""Provider HTTP: a total deadline, a size cap and no redirects on every call to an OAuth provider.

requests' timeout bounds each socket read, not the call: a provider trickling one byte at a time keeps
a call alive for as long as it likes. Here a watchdog shuts down the call's sockets at the deadline.
"""

import contextlib
import contextvars
import functools
import socket
import threading
import time
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout

from ..said import said
from .errors import OAuthError

MAX_RESPONSE_BYTES = 64 * 1024
CHUNK_BYTES = 8 * 1024

_call_connections = contextvars.ContextVar("provider_call_connections", default=None)


class _RecordingPool:
    """Connection pool mixin: hands each connection it gives out to the running call's watchdog."""

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        connections = _call_connections.get()
        if connections is not None:
            connections.append(connection)
        return connection


@functools.cache
def _recording(pool_class: type) -> type:
    if issubclass(pool_class, _RecordingPool):
        return pool_class
    return type(f"Recording{pool_class.__name__}", (_RecordingPool, pool_class), {})


def _record_connections(manager):
    """Make a urllib3 pool manager (direct or proxy) build recording pools."""
    manager.pool_classes_by_scheme = {
        scheme: _recording(pool_class) for scheme, pool_class in manager.pool_classes_by_scheme.items()
    }
    return manager


class _Watchdog:
    """At the deadline, shuts down the sockets of the connections a call took, so a blocked read ends."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.connections = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self):
        self._token = _call_connections.set(self.connections)
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        _call_connections.reset(self._token)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.deadline

    def _fire(self):
        for connection in list(self.connections):
            sock = getattr(connection, "sock", None)
            if isinstance(sock, socket.socket):
                # socket.socket's own shutdown: SSLSocket's would drop its TLS state under the reading thread.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class ProviderAdapter(HTTPAdapter):
    """Sends a provider call within `timeout` seconds in all, reads at most MAX_RESPONSE_BYTES, refuses redirects."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        _record_connections(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return _record_connections(super().proxy_manager_for(proxy, **proxy_kwargs))

    def send(self, request, stream=False, timeout=None, **kwargs):
        watchdog = _Watchdog(timeout)
        try:
            with watchdog:
                # total: a connection opened late gets only the time left for its reads.
                response = super().send(request, stream=True, timeout=Timeout(total=timeout), **kwargs)
                self.refuse_redirect(response)
                _read_capped(response)
        except requests.RequestException:
            if watchdog.passed:
                raise requests.Timeout(request=request) from None
            raise
        if watchdog.passed:  # the body may have been cut short by the watchdog
            raise requests.Timeout(request=request)
        return response

    def refuse_redirect(self, response: requests.Response) -> None:
        """Following a redirect would re-send the client secret, the code or a token to wherever it points."""
        if 300 <= response.status_code < 400:
            response.close()
            location = urljoin(response.url, response.headers.get("Location", ""))
            raise OAuthError(said("provider_redirected", status=response.status_code,
                                  host=urlsplit(location).hostname))


def _read_capped(response: requests.Response) -> None:
    """Read the body into the response, refusing to hold more than MAX_RESPONSE_BYTES of it."""
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            response.close()
            raise OAuthError(said("provider_answer_too_large", size=MAX_RESPONSE_BYTES // 1024))
    response._content = bytes(body)
    response.close()


def bounded(session: requests.Session) -> requests.Session:
    """The session, sending every provider call through a ProviderAdapter."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, ProviderAdapter())
    return session
