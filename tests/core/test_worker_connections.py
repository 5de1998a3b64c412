"""A Celery worker keeps its database connections from one task to the next, as a web process keeps
its pool from one request to the next.

Celery's Django support closes every connection around each task and, in a prefork worker with a
connection pool, the pool itself: every tick opened new backends, and the ledger sealer's thread lost
its connection mid-seal. Here a real worker with the pool on runs a run of delivery ticks; the
backends it holds (found by their application name) are the same after them as after the first.
"""

import time
import uuid

import pytest
from django.db import connection

from opsplatform.celery import app as celery_app
from tests.notifications.workers import start_worker, stop, wait_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

TICKS = 12


def _backends(name: str) -> set[tuple[int, object]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s", [name])
        return set(cursor.fetchall())


def _run_ticks(queue: str, log, count: int, done_before: int) -> int:
    for _ in range(count):
        celery_app.send_task("notifications.delivery_tick", queue=queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = log.read_text(errors="replace").count("succeeded in")
        if done >= done_before + count:
            return done
        time.sleep(0.1)
    raise AssertionError("the ticks did not finish:\n" + log.read_text(errors="replace")[-3000:])


def test_a_worker_keeps_its_pooled_connections_across_tasks(tmp_path):
    queue = f"test-connections-{uuid.uuid4().hex[:8]}"
    name = f"worker-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    # libpq names every connection of the worker so; the pool keeps two open at least.
    worker = start_worker(
        queue, log, env={"PGAPPNAME": name, "DB_POOL_MAX_SIZE": "4", "DB_POOL_MIN_SIZE": "2"}
    )
    try:
        wait_ready(log, 0)
        done = _run_ticks(queue, log, 1, 0)
        after_first = _backends(name)
        _run_ticks(queue, log, TICKS, done)
        after_all = _backends(name)
    finally:
        stop(worker)

    assert after_first, "after a task the worker must still hold its pooled connections"
    assert after_all == after_first
    assert "PoolClosed" not in log.read_text(errors="replace")
