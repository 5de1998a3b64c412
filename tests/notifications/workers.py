"""Real Celery worker processes against the test database and Redis, for the worker-crash test and
the benchmark. Each runs in its own process group, on a queue of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """This test run's database (the test database, not the configured one) as a URL for workers."""
    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s.get("PASSWORD") else ""
    options = s.get("OPTIONS") or {}
    host = s.get("HOST") or options.get("host") or ""
    port = s.get("PORT") or options.get("port") or 5432
    if host.startswith("/"):  # a unix socket directory (the embedded PostgreSQL of `make test`)
        return f"postgres://{s['USER']}{password}@/{s['NAME']}?host={quote(host, safe='/')}&port={port}"
    return f"postgres://{s['USER']}{password}@{host or '127.0.0.1'}:{port}/{s['NAME']}"


def start_worker(queue: str, log: Path, *, concurrency: int = 1, env: dict | None = None) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsplatform.test_settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "opsplatform", "worker", "-Q", queue, "-c", str(concurrency),
        "-l", "INFO", "-n", f"{queue}-{time.monotonic_ns()}@%h", "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    handle = log.open("ab")
    # Its own process group: SIGKILL reaches the main process and its pool children at once, like a
    # container or a machine dying.
    return subprocess.Popen(
        command, cwd=BASE_DIR, env=environment, stdout=handle, stderr=handle, start_new_session=True
    )


def wait_ready(log: Path, ready_before: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(" ready.") > ready_before:
            return
        time.sleep(0.1)
    raise AssertionError("the Celery worker did not start:\n" + log.read_text(errors="replace")[-3000:])


def kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def stop(worker: subprocess.Popen, timeout: float = 20) -> None:
    """A warm shutdown (SIGTERM), then SIGKILL for whatever is left of its process group."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=timeout)
    kill(worker)
