"""The test SMTP server in a process of its own, as the provider is another machine.

In the benchmark's own process, the server's work would share the client's interpreter lock, so anything the client
does while waiting for a reply (a worker committing the last outcome) would be charged as if it stopped the server.
Tokens are still checked with the OAuth server of the benchmark's process: the child asks it through a
multiprocessing manager, once per AUTH.
"""

from __future__ import annotations

import multiprocessing
import secrets
import sys
import threading
from multiprocessing.managers import BaseManager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Exchange(BaseManager):
    """Shares one object between the benchmark and the server's process."""


class ServerReport:
    """What the benchmark reads of the server in the child: counts, the AUTH mechanisms used, waiting."""

    def __init__(self, server):
        self.server = server

    def port(self) -> int:
        return self.server.port

    def received(self) -> int:
        return len(self.server.messages)

    def connections(self) -> int:
        return self.server.connections

    def mechanisms(self) -> set:
        return {message.auth_mechanism for message in self.server.messages}

    def wait_for_messages(self, count: int, timeout: float) -> int:
        return len(self.server.wait_for_messages(count, timeout=timeout))


def serve(pki, shape: str, oauth_address, authkey: bytes, ready, stop) -> None:
    """The child: the SMTP server, checking tokens with the parent's OAuth server, reported through a manager."""
    sys.path.insert(0, str(ROOT))
    from tests.servers.smtp_server import SMTPTestServer

    Exchange.register("oauth")
    parent = Exchange(address=oauth_address, authkey=authkey)
    parent.connect()
    oauth = parent.oauth()
    server = SMTPTestServer(security="starttls", pki=pki, style=shape, check_token=oauth.check_access_token).start()
    report = ServerReport(server)
    Exchange.register("report", callable=lambda: report)
    manager = Exchange(address=("127.0.0.1", 0), authkey=authkey)
    manager_server = manager.get_server()
    threading.Thread(target=manager_server.serve_forever, daemon=True).start()
    ready.send(manager_server.address)
    stop.wait()
    server.stop()


class RemoteSMTPServer:
    """The bench's handle on the SMTP server in its own process (the attributes bench/outbox.py reads)."""

    host = "127.0.0.1"
    security = "starttls"

    def __init__(self, pki, shape: str, oauth):
        self.authkey = secrets.token_bytes(16)
        Exchange.register("oauth", callable=lambda: oauth)
        self.oauth_manager = Exchange(address=("127.0.0.1", 0), authkey=self.authkey).get_server()
        threading.Thread(target=self.oauth_manager.serve_forever, daemon=True).start()
        context = multiprocessing.get_context("spawn")
        self.stop_event = context.Event()
        ready, child_end = context.Pipe(duplex=False)
        self.process = context.Process(target=serve, daemon=True, args=(
            pki, shape, self.oauth_manager.address, self.authkey, child_end, self.stop_event))
        self.process.start()
        if not ready.poll(60):
            raise RuntimeError("the SMTP server process did not start")
        Exchange.register("report")
        manager = Exchange(address=ready.recv(), authkey=self.authkey)
        manager.connect()
        self.report = manager.report()
        self.port = self.report.port()

    @property
    def received(self) -> int:
        return self.report.received()

    @property
    def connections(self) -> int:
        return self.report.connections()

    def mechanisms(self) -> set:
        return self.report.mechanisms()

    def wait_for_messages(self, count: int, timeout: float) -> None:
        self.report.wait_for_messages(count, timeout)

    def stop(self) -> None:
        self.stop_event.set()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
