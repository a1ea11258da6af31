"""A hostile HTTP server for tests: on 127.0.0.1, it answers every request with a scripted byte stream.

An answer is a function taking the server and the client socket; it may trickle bytes, send too many,
or redirect. The server records each request it received (request line, headers and body) in `requests`.
Stopping wakes every trickling answer, so a test never waits for one to finish.
"""

from __future__ import annotations

import socketserver
import threading

TOKEN_JSON = b'{"access_token": "trickled-access-token", "token_type": "Bearer", "expires_in": 3600}'


class RawHTTPServer:
    """A threaded TCP server speaking just enough HTTP/1.1 to read requests and play scripted answers."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def start(self) -> RawHTTPServer:
        handler = type("Handler", (_Handler,), {"fixture": self})
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads, self._server.block_on_close = True, False
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RawHTTPServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def trickle(self, sock, data: bytes, interval: float) -> None:
        """Send data one byte per interval, until done or stopped."""
        for index in range(len(data)):
            if self.stopping.wait(interval):
                return
            sock.sendall(data[index:index + 1])


class _Handler(socketserver.StreamRequestHandler):
    fixture: RawHTTPServer

    def handle(self):
        head = []
        for line in self.rfile:
            if line == b"\r\n":
                break
            head.append(line)
        length = next((int(line.split(b":")[1]) for line in head if line.lower().startswith(b"content-length:")), 0)
        self.fixture.requests.append(b"".join(head) + b"\r\n" + self.rfile.read(length))
        try:
            self.fixture.answer(self.fixture, self.connection)
        except OSError:  # the client hung up, as it should on a hostile answer
            pass


def token_response(server, sock) -> None:
    """A plain token response, at once."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(TOKEN_JSON), TOKEN_JSON))


def trickled_body(server, sock) -> None:
    """A token response whose headers come at once and whose body comes one byte every 0.5 s."""
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(TOKEN_JSON))
    server.trickle(sock, TOKEN_JSON, 0.5)


def trickled_headers(server, sock) -> None:
    """A token response whose status line and headers come one byte every 0.5 s."""
    server.trickle(sock, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 60, 0.5)


def huge_body(size: int):
    """An answer: a JSON token response of size bytes, sent as fast as the client reads it."""
    body = b'{"access_token": "' + b"a" * (size - 20) + b'"}'

    def answer(server, sock) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        sock.sendall(body)

    return answer


def redirect_to(location: str):
    """An answer: 307 to location, which would make a following client post the same body there."""

    def answer(server, sock) -> None:
        sock.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                     % location.encode())

    return answer
