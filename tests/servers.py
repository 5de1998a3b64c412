"""The real ASGI server (``python -m opsplatform.devtools.serve``) in a subprocess, against the test database
and Redis: for the benchmarks and for the tests of the server itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def silent_server():
    """A loopback TCP server that accepts every connection and never says a word (a peer that
    hangs): yields the listening socket (its port; closing it makes the peer go away) and the
    connections it accepted so far."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server, accepted
    finally:
        server.close()
        for conn in accepted:
            conn.close()


@contextmanager
def holding_proxy(upstream: str | tuple[str, int]):
    """A loopback TCP proxy to ``upstream`` (a unix socket's path, or a host and port) that holds what
    its first connection's client sends until released (a peer slow to take one request while it
    answers others at once): yields the proxy's port, an event set once the held bytes arrived, and
    the event that releases them."""
    server = socket.create_server(("127.0.0.1", 0))
    arrived, release = threading.Event(), threading.Event()
    opened: list[socket.socket] = []

    def pump(source: socket.socket, target: socket.socket, held: bool) -> None:
        try:
            while data := source.recv(65536):
                if held:
                    arrived.set()
                    release.wait()
                target.sendall(data)
        except OSError:
            pass  # either side went away: the other follows when the block ends

    def accept() -> None:
        first = True
        while True:
            try:
                client = server.accept()[0]
            except OSError:
                return
            if isinstance(upstream, str):
                peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                peer.connect(upstream)
            else:
                peer = socket.create_connection(upstream)
            opened.extend((client, peer))
            threading.Thread(target=pump, args=(client, peer, first), daemon=True).start()
            threading.Thread(target=pump, args=(peer, client, False), daemon=True).start()
            first = False

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1], arrived, release
    finally:
        release.set()
        server.close()
        for sock in opened:
            sock.close()


def database_url() -> str:
    """The test database, for a server process: read from the live connection, since the configured
    URL may carry its host and port as options (the embedded server's unix socket)."""
    connection.ensure_connection()
    info = connection.connection.info
    auth = quote(info.user or "postgres") + (f":{quote(info.password)}" if info.password else "")
    if info.host.startswith("/"):
        return f"postgres://{auth}@/{info.dbname}?host={quote(info.host, safe='/')}&port={info.port}"
    return f"postgres://{auth}@{info.host}:{info.port}/{info.dbname}"


@contextmanager
def asgi_server(
    *,
    workers=1,
    settings_module="opsplatform.test_settings",
    pool_size=4,
    env=None,
    access_log=False,
    output=None,
):
    """Serve the app on a free loopback port until the block ends, then stop it (SIGTERM, as a
    deployment would). ``DEBUG`` off: measured and tested as deployed. ``output``: a file that gets
    the server's stdout and stderr (its logs)."""
    port = free_port()
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DEBUG": "0",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "LOG_LEVEL": "WARNING",
        # As deployed (runner and docker): a connection pool, since ASGI runs requests on many threads.
        "DB_CONN_MAX_AGE": "0",
        "DB_POOL_MAX_SIZE": str(pool_size),
        **(env or {}),
    }
    argv = [
        sys.executable, "-m", "opsplatform.devtools.serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "info" if access_log else "warning",
    ]  # fmt: skip
    if not access_log:
        argv.append("--no-access-log")
    streams = {"stdout": output, "stderr": subprocess.STDOUT} if output is not None else {}
    process = subprocess.Popen(argv, cwd=BASE_DIR, env=server_env, start_new_session=True, **streams)
    server = Server(port=port, process=process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        stop(server)


def _wait_until_up(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the ASGI server exited with {server.process.returncode}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code in (200, 503):
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the ASGI server did not come up")


def stop(server: Server, timeout: float = 30) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        return server.process.wait()
