"""A real HTTPS proxy for tests: an HTTP server on 127.0.0.1 that answers CONNECT by tunnelling the bytes to the
host asked for (loopback only), and records each tunnel it opened. TLS goes end to end through it, as through a
corporate proxy that does not inspect it."""

from __future__ import annotations

import select
import socket
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.serving import Serving

BUFFER = 64 * 1024


class ConnectProxy:
    """CONNECT host:port tunnels, recorded in `tunnels` as "host:port"."""

    host = "127.0.0.1"

    def __init__(self):
        self.tunnels: list[str] = []
        self._stopping = threading.Event()
        self._serving: Serving | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._serving.httpd.server_port}"

    def start(self) -> ConnectProxy:
        httpd = ThreadingHTTPServer((self.host, 0), partial(_Tunnel, self))
        httpd.daemon_threads = True
        self._serving = Serving(httpd, self._stopping)
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def __enter__(self) -> ConnectProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _Tunnel(BaseHTTPRequestHandler):
    """One CONNECT: 200, then bytes both ways until either side closes or the proxy stops."""

    def __init__(self, proxy: ConnectProxy, *args):
        self._proxy = proxy
        super().__init__(*args)

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        self._proxy.tunnels.append(self.path)
        try:
            upstream = socket.create_connection((host, int(port)), timeout=5)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        with upstream:
            self._pipe(self.connection, upstream)

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        while not self._proxy._stopping.is_set():
            readable, _, _ = select.select([client, upstream], [], [], 0.1)
            for source in readable:
                data = source.recv(BUFFER)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)

    def log_message(self, format: str, *args) -> None:
        """Keep the test output quiet."""
