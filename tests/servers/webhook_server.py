"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 that records what is POSTed to it.

It answers 204 No Content unless told to answer another status or to be slow, so alerting can be tested
against a receiver that fails or hangs. Stopping wakes every slow answer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from email.message import Message
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.serving import Serving

HEALTHY_STATUS = 204


@dataclass
class WebhookRequest:
    """One POST the receiver got, as it came."""

    path: str
    headers: Message  # case-insensitive: request.headers["content-type"]
    body: bytes

    def json(self):
        """The body parsed as JSON (raises ValueError when it is not)."""
        return json.loads(self.body)


class WebhookTestServer:
    """http.server in a thread; requests records every POST, in order of arrival."""

    host = "127.0.0.1"

    def __init__(self):
        self.requests: list[WebhookRequest] = []
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._serving: Serving | None = None
        self.heal()

    @property
    def url(self) -> str:
        """Where to POST alerts."""
        return f"http://{self.host}:{self._serving.httpd.server_port}/hook"

    def start(self) -> WebhookTestServer:
        """Start listening on a free port of 127.0.0.1 and return self."""
        self._serving = Serving(ThreadingHTTPServer((self.host, 0), partial(_Handler, self)), self._stopping)
        return self

    def stop(self) -> None:
        """Wake slow answers, stop serving and close the socket; harmless twice."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def __enter__(self) -> WebhookTestServer:
        """Start on entering a with block."""
        return self.start()

    def __exit__(self, *exc_info) -> None:
        """Stop on leaving a with block."""
        self.stop()

    def respond_with(self, status: int, count: int | None = None) -> None:
        """Answer status to the next count requests, or to every one until heal() when count is None."""
        with self._condition:
            self._status, self._status_left = status, count

    def delay(self, seconds: float) -> None:
        """Hold every answer this long (the request is recorded at once), until heal()."""
        with self._condition:
            self._delay = seconds

    def heal(self) -> None:
        """Answer HEALTHY_STATUS at once again."""
        self.respond_with(HEALTHY_STATUS)
        self.delay(0.0)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[WebhookRequest]:
        """Wait until at least count requests arrived and return them all."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} request(s) received, expected {count}")
            return list(self.requests)

    def _receive(self, request: WebhookRequest) -> tuple[int, float]:
        """Record a request; return the status to answer it with and the delay before answering."""
        with self._condition:
            self.requests.append(request)
            self._condition.notify_all()
            status = self._status
            if self._status_left is not None:
                self._status_left -= 1
                if self._status_left == 0:
                    self._status, self._status_left = HEALTHY_STATUS, None
            return status, self._delay


class _Handler(BaseHTTPRequestHandler):
    """Records each POST in the receiver and answers it as the receiver was told."""

    def __init__(self, receiver: WebhookTestServer, *args):
        self._receiver = receiver
        super().__init__(*args)

    def do_POST(self) -> None:
        """Record the request, wait any delay asked for (or until stop), then answer with no body."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, delay = self._receiver._receive(WebhookRequest(self.path, self.headers, body))
        if self._receiver._stopping.wait(delay):
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        """Keep the test output quiet."""
