"""A real nginx for tests, run from a temporary directory: `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`.

The caller supplies what goes inside `http { }` (server and upstream blocks: see tests/deploy/conftest.py,
which takes them from docs/deploy.md); this module wraps it in a main configuration whose pid file,
error and access logs and every temporary path live in the directory, so it runs as root without
touching /var, /run or /etc/nginx.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.servers.process import started, stop_process

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0

MAIN_CONFIG = """\
# Written by tests/servers/nginx.py: everything nginx writes stays in {prefix}.
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;

events {{
    worker_connections 256;
}}

http {{
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

{http}
}}
"""


def find_nginx() -> str:
    """The nginx binary, or an error naming the Debian package."""
    for candidate in (shutil.which("nginx"), *NGINX_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("nginx not found: install the Debian package 'nginx-light' "
                       "(scripts/test-system-packages does it as root)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NginxTestServer:
    """nginx in the foreground with the given http-level configuration; waits for its listening ports."""

    def __init__(self, directory: str | os.PathLike, http_config: str, ports: list[int]):
        self.binary = find_nginx()
        self.directory = Path(directory)
        self.http_config = http_config
        self.ports = list(ports)
        self.process: subprocess.Popen | None = None
        self._output = None

    @property
    def config_path(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    def start(self) -> NginxTestServer:
        """Write the configuration, check it with `nginx -t`, start, wait until every port accepts."""
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        # As root, workers would otherwise run as nobody, who cannot enter pytest's private tmp folder.
        user = "user root root;" if os.geteuid() == 0 else ""
        indented = "\n".join("    " + line if line.strip() else "" for line in self.http_config.splitlines())
        self.config_path.write_text(MAIN_CONFIG.format(prefix=self.directory, user=user, http=indented))
        base = [self.binary, "-p", str(self.directory), "-c", str(self.config_path)]
        check = subprocess.run([*base, "-t", "-q", "-g", "daemon off;"], capture_output=True, text=True,
                               timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{check.stderr}\n{self.config_path.read_text()}")
        self._output = open(self.directory / "nginx.out", "ab")
        self.process = subprocess.Popen([*base, "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                        stdout=self._output, stderr=subprocess.STDOUT)
        return started(self, self._wait_ready)

    def stop(self) -> None:
        """Graceful shutdown (SIGQUIT), then SIGTERM/SIGKILL if it lingers; harmless twice."""
        if self.process is not None:
            stop_process(self.process, ((signal.SIGQUIT, STOP_TIMEOUT), (signal.SIGTERM, 5)))
            self.process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> NginxTestServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def logs(self) -> str:
        """The error log and the captured output, for failure messages."""
        parts = []
        for name in ("error.log", "nginx.out"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = set(self.ports)
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.logs()}")
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    pending.discard(port)
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"nginx did not listen on {sorted(pending)} within {START_TIMEOUT} s:\n{self.logs()}")
