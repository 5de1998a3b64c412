"""Run the real ASGI app (uvicorn, one process) in a subprocess against the test database."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or ""
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    if host.startswith("/"):
        return f"postgres://{user}@/{db['NAME']}?host={host}&port={port}"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@contextmanager
def asgi_server(workers: int = 1):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "opsplatform.test_settings",
        "DEBUG": "0",  # measured as deployed: no query log, no template debug
        "LOG_LEVEL": "WARNING",
        # As deployed (runner and docker): a connection pool, since ASGI runs each request on a new thread.
        "DB_CONN_MAX_AGE": "0",
        "DB_POOL_MAX_SIZE": "4",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "opsplatform.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--ws",
        "websockets-sansio",
    ]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("ASGI server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
