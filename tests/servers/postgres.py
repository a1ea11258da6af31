"""A throwaway PostgreSQL cluster for tests: initdb into a temporary directory, postgres on 127.0.0.1.

PostgreSQL refuses to run as root, so when the tests run as root, initdb and postgres run as the
`postgres` OS user (created by Debian's postgresql package) in a directory handed over to it. The
cluster is tuned for speed (fsync=off) and listens on 127.0.0.1 and on a Unix socket inside its
own directory only. Nothing is skipped: a missing binary or user is an error naming the package.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tests.servers.process import started, stop_process

BIN_GLOB = "/usr/lib/postgresql/*/bin"
OS_USER = "postgres"
SUPERUSER = "postgres"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres."""
    candidates = [Path(path) for path in glob.glob(BIN_GLOB)
                  if (Path(path) / "initdb").is_file() and (Path(path) / "postgres").is_file()]
    if not candidates:
        raise RuntimeError(f"PostgreSQL server binaries not found ({BIN_GLOB}/initdb): install the Debian "
                           "package 'postgresql' (scripts/test-system-packages does it as root)")
    return max(candidates, key=lambda path: _version_key(path.parent.name))


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Database:
    """One database of the cluster, owned by a role that logs in with a password."""

    name: str
    user: str
    password: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the console takes (DDE_SQLALCHEMY_DATABASE_URI)."""
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"

    def connect(self, **kwargs) -> psycopg.Connection:
        """A direct psycopg connection as the owner, autocommit."""
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.name, autocommit=True, connect_timeout=5, **kwargs)


class PostgresTestServer:
    """initdb + postgres on a free port of 127.0.0.1; create_database() hands out fresh databases."""

    host = "127.0.0.1"

    def __init__(self):
        self.bin_dir = find_bin_dir()
        self.port = 0
        self.directory: Path | None = None
        self.superuser_password = secrets.token_urlsafe(16)
        self.process: subprocess.Popen | None = None
        self._log = None
        self._counter = 0
        self._run_as = self._os_user()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> PostgresTestServer:
        """initdb a new cluster and start postgres; wait (bounded) until it accepts connections."""
        # Not under pytest's tmp_path: that is private to root and the postgres user must reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="dde-pg-"))
        return started(self, self._initdb, self._start_postgres, self._wait_ready)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), wait, then remove the cluster directory; harmless twice."""
        if self.process is not None:
            stop_process(self.process, ((signal.SIGINT, STOP_TIMEOUT),))
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PostgresTestServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- test API --------------------------------------------------------------------------

    def create_database(self, prefix: str = "dde") -> Database:
        """A new empty database owned by a new role with a password (URL-safe names and password)."""
        self._counter += 1
        name = f"{prefix}_{self._counter}_{secrets.token_hex(3)}"
        database = Database(name=name, user=f"{name}_owner", password=secrets.token_urlsafe(18),
                            host=self.host, port=self.port)
        with self.admin_connection() as connection:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(database.user), sql.Literal(database.password)))
            connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database.name), sql.Identifier(database.user)))
        return database

    def drop_database(self, database: Database) -> None:
        """Drop the database (closing its connections) and its role."""
        with self.admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database.name)))
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.user)))

    def admin_connection(self) -> psycopg.Connection:
        """A superuser connection over TCP, autocommit."""
        return psycopg.connect(host=self.host, port=self.port, user=SUPERUSER, password=self.superuser_password,
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def log_text(self) -> str:
        path = self.directory / "postgres.log" if self.directory else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _os_user() -> pwd.struct_passwd | None:
        """The account postgres runs as: 'postgres' when we are root, else ourselves (None)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(OS_USER)
        except KeyError:
            raise RuntimeError(f"running as root, PostgreSQL needs the '{OS_USER}' OS user: install the Debian "
                               "package 'postgresql', which creates it") from None

    def _popen_user(self) -> dict:
        if self._run_as is None:
            return {}
        return {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}

    def _env(self) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", TZ="UTC")
        if self._run_as is not None:
            env.update(HOME=str(self.directory), USER=OS_USER, LOGNAME=OS_USER)
        return env

    def _initdb(self) -> None:
        data = self.directory / "data"
        password_file = self.directory / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        if self._run_as is not None:
            os.chown(self.directory, self._run_as.pw_uid, self._run_as.pw_gid)
            os.chown(password_file, self._run_as.pw_uid, self._run_as.pw_gid)
        self.directory.chmod(0o700)
        password_file.chmod(0o600)
        result = subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(password_file),
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            cwd=self.directory, env=self._env(), capture_output=True, text=True, timeout=120,
            **self._popen_user())
        password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _start_postgres(self) -> None:
        self.port = free_port()
        log_path = self.directory / "postgres.log"
        self._log = open(log_path, "ab")
        if self._run_as is not None:
            os.chown(log_path, self._run_as.pw_uid, self._run_as.pw_gid)
        settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                    "max_connections": "100", "shared_buffers": "32MB", "timezone": "UTC",
                    "log_min_messages": "warning"}
        command = [str(self.bin_dir / "postgres"), "-D", str(self.directory / "data"),
                   "-k", str(self.directory), "-h", self.host, "-p", str(self.port)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        self.process = subprocess.Popen(command, cwd=self.directory, env=self._env(), stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT, **self._popen_user())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with self.admin_connection() as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                last_error = error
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT} s: {last_error}\n"
                           f"{self.log_text()}")
