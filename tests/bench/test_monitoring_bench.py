"""Monitoring at 2,500 monitors: the real beat, the real check tick on Celery, loopback targets.

    make bench PYTEST_ARGS="-k monitoring"          (BENCH_MONITOR_SECONDS=300 by default)

2,000 HTTP monitors every 30 s and 500 TCP monitors every 60 s (75 checks due a second) against
loopback targets in a process of their own (``tests/bench/targets.py``: HTTP answers after 5 to 45 ms).
As ``make run`` starts the platform: ``celery -A opsplatform beat`` (the database scheduler, every
beat entry) and ``celery -A opsplatform worker --concurrency 2`` run against the test database and
Redis; the ASGI server (``opsplatform.devtools.serve``) serves the pages. The first due times are
spread over each interval, as on a platform that has been running for a while.

Baselines in the same run: the same probes without the platform (asyncio over the batch, no
database) for the cost of probing alone, and the list page's row SELECT run raw in PostgreSQL.

Printed: checks/s achieved against due, schedule lateness (due time → probe start) p50/p99, CPU of
the scheduler (beat + worker processes) as a share of the machine (PostgreSQL's share is in the
whole-machine figure: workers open a connection per task, too short-lived to sample by
process), and the monitor list page and API p50/p95 at 2,500 monitors while checks run.
Targets (issue 14): lateness p99 < 1 s, monitoring CPU < 40 % of the machine, page p95 < 200 ms.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, F
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import scheduler
from monitoring.models import CheckResult, Monitor, MonitorKind, MonitorState
from monitoring.probes.base import ProbeSpec
from tests.bench.timing import percentile, report, timed
from tests.notifications.workers import start_worker, stop, wait_ready
from tests.servers import asgi_server
from tests.servers import database_url as server_database_url

N_HTTP, HTTP_EVERY = int(os.environ.get("BENCH_HTTP_MONITORS", "2000")), 30
N_TCP, TCP_EVERY = int(os.environ.get("BENCH_TCP_MONITORS", "500")), 60
SECONDS = int(os.environ.get("BENCH_MONITOR_SECONDS", "300"))
WARMUP_SECONDS = 30
REQUESTS = 100
BASE_DIR = Path(__file__).resolve().parents[2]


def _start_targets():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.targets"],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    http_port, tcp_port = map(int, process.stdout.readline().split())
    return process, http_port, tcp_port


def _start_beat(queue: str, log: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opsplatform.test_settings",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
    }
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "opsplatform", "beat", "-l", "INFO"],
        cwd=BASE_DIR,
        env=environment,
        stdout=handle,
        stderr=handle,
        start_new_session=True,
    )


def _populate(org, http_port, tcp_port, start):
    """Monitors that have been up for a while: a steady state, where checks change no state (a mass
    state change is a storm of ledger entries and incidents, another benchmark's subject)."""
    rng = random.Random(14)
    rows = []
    steady = {
        "state": MonitorState.UP,
        "consecutive_successes": 21,
        "history": "u" * 21,
        "state_changed_at": start - timedelta(days=1),
    }
    for n in range(N_HTTP):
        rows.append(
            Monitor(
                organization=org,
                name=f"api-{n:04d}",
                kind=MonitorKind.HTTP,
                target=f"http://127.0.0.1:{http_port}/health/{n}",
                interval_seconds=HTTP_EVERY,
                timeout_seconds=5,
                next_check_at=start + timedelta(seconds=rng.uniform(0, HTTP_EVERY)),
                **steady,
            )
        )
    for n in range(N_TCP):
        rows.append(
            Monitor(
                organization=org,
                name=f"tcp-{n:04d}",
                kind=MonitorKind.TCP,
                target=f"127.0.0.1:{tcp_port}",
                interval_seconds=TCP_EVERY,
                timeout_seconds=5,
                next_check_at=start + timedelta(seconds=rng.uniform(0, TCP_EVERY)),
                **steady,
            )
        )
    Monitor.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitoring_monitor")


def _probe_baseline(sample: int = 500) -> tuple[float, float]:
    """Probes alone: (probes/s, CPU ms per probe) over ``sample`` of the monitors, no database."""
    specs = [ProbeSpec.of(m) for m in Monitor.objects.order_by("?")[:sample]]
    cpu, wall = time.process_time(), time.perf_counter()
    results = scheduler.probe_loop().probe_all(specs)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert all(r.outcome == "up" for r in results), {r.message for r in results}
    return len(specs) / wall, cpu * 1000 / len(specs)


def _tree(process: subprocess.Popen) -> list[psutil.Process]:
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


class CpuMeter:
    """CPU seconds of a set of processes between start() and stop(), counting ones that appear."""

    def __init__(self, find):
        self.find, self.first = find, {}

    def _sample(self) -> dict:
        found = {}
        for proc in self.find():
            try:
                times = proc.cpu_times()
                found[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        return found

    def start(self):
        self.first, self.started = self._sample(), time.monotonic()

    def stop(self) -> float:
        last = self._sample()
        return sum(v - self.first.get(pid, 0.0) for pid, v in last.items())


def _page_times(server, cookies, token, raw_select):
    with (
        httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as page,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
    ):

        def get(client, path, **params):
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text[:300]

        for _ in range(10):
            get(page, "/monitors/")
            get(api, "/api/v1/monitors/")
        return [
            ("PostgreSQL: the page's row SELECT, raw", timed(raw_select, REQUESTS)),
            ("page /incidents/, empty (the layout alone)", timed(lambda: get(page, "/incidents/"), REQUESTS)),
            ("page /monitors/ (page 1)", timed(lambda: get(page, "/monitors/"), REQUESTS)),
            ("page ?page=40", timed(lambda: get(page, "/monitors/", page=40), REQUESTS)),
            (
                "page ?kind=tcp&q=tcp-04",
                timed(lambda: get(page, "/monitors/", kind="tcp", q="tcp-04"), REQUESTS),
            ),
            ("API /api/v1/monitors/", timed(lambda: get(api, "/api/v1/monitors/"), REQUESTS)),
            ("API ?kind=tcp", timed(lambda: get(api, "/api/v1/monitors/", kind="tcp"), REQUESTS)),
        ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(SECONDS + 600)
def test_monitoring_at_2500_monitors(org, users, token_for, tmp_path):
    run = uuid.uuid4().hex[:8]
    queue = f"bench-monitoring-{run}"
    targets, http_port, tcp_port = _start_targets()
    processes = []
    try:
        with override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
            start = timezone.now() + timedelta(seconds=20)
            _populate(org, http_port, tcp_port, start)
            probes_per_s, probe_cpu_ms = _probe_baseline()

        login = Client()
        login.force_login(users["operator"])
        cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
        token = token_for("operator")
        with CaptureQueriesContext(connection) as ctx:
            assert login.get("/monitors/").status_code == 200
        row_sql = next(
            q["sql"]
            for q in ctx.captured_queries
            if 'FROM "monitoring_monitor"' in q["sql"] and "LIMIT" in q["sql"]
        )

        def raw_select():
            with connection.cursor() as cursor:
                cursor.execute(row_sql)
                cursor.fetchall()

        logs = tmp_path / "worker.log", tmp_path / "beat.log"
        worker = start_worker(queue, logs[0], concurrency=2)
        processes.append(worker)
        wait_ready(logs[0], 0)
        beat = _start_beat(queue, logs[1])
        processes.append(beat)

        # The first due times start a few seconds from now, however long the set-up took.
        shift = timezone.now() + timedelta(seconds=5) - start
        Monitor.objects.update(next_check_at=F("next_check_at") + shift)
        scheduler_cpu = CpuMeter(lambda: _tree(worker) + _tree(beat))
        time.sleep(5 + WARMUP_SECONDS)
        window_start = timezone.now()
        machine = psutil.cpu_times()
        scheduler_cpu.start()
        with asgi_server(workers=1) as server:
            page_at = time.monotonic() + max(0, SECONDS - 60)
            time.sleep(max(0.0, page_at - time.monotonic()))
            rows = _page_times(server, cookies, token, raw_select)
            time.sleep(max(0.0, SECONDS - (timezone.now() - window_start).total_seconds()))
        window_end = timezone.now()
        scheduler_seconds = scheduler_cpu.stop()
        machine_after = psutil.cpu_times()
    finally:
        for process in reversed(processes):
            stop(process)
        targets.terminate()
        targets.wait(timeout=10)

    wall = (window_end - window_start).total_seconds()
    cores = psutil.cpu_count()
    busy = (sum(machine_after) - machine_after.idle - machine_after.iowait) - (
        sum(machine) - machine.idle - machine.iowait
    )
    window = CheckResult.objects.filter(checked_at__gte=window_start, checked_at__lt=window_end)
    lateness = [ms / 1000 for ms in window.values_list("lateness_ms", flat=True) if ms is not None]
    outcomes = dict(window.values_list("outcome").annotate(n=Count("id")).order_by())
    due_rate = N_HTTP / HTTP_EVERY + N_TCP / TCP_EVERY
    achieved = window.count() / wall
    overdue = Monitor.objects.filter(next_check_at__lt=window_end - timedelta(seconds=5)).count()

    print(
        f"\nMonitoring: {N_HTTP} HTTP monitors every {HTTP_EVERY} s + {N_TCP} TCP every {TCP_EVERY} s, "
        f"{wall:.0f} s measured after {WARMUP_SECONDS} s of warm-up; beat + worker (2 processes), "
        f"tick every {settings.CELERY_BEAT_SCHEDULE['monitoring-checks']['schedule']:g} s"
    )
    print(
        f"baseline, probes alone (no database, one process): {probes_per_s:.0f} probes/s, "
        f"{probe_cpu_ms:.2f} ms CPU each"
    )
    print(
        f"checks: {achieved:.1f}/s achieved, {due_rate:.1f}/s due; outcomes {outcomes}; "
        f"overdue at the end: {overdue}"
    )
    print(
        f"schedule lateness (due -> probe start): p50 {percentile(lateness, 50):.3f} s, "
        f"p99 {percentile(lateness, 99):.3f} s, max {max(lateness):.3f} s (n={len(lateness)})"
    )
    print(
        f"CPU: scheduler (beat + worker) {scheduler_seconds / wall * 100 / cores:.1f} % of the machine "
        f"({scheduler_seconds / wall * 100:.1f} % of one core, "
        f"{scheduler_seconds * 1000 / max(1, window.count()):.2f} ms a check); "
        f"whole machine busy {busy / wall * 100 / cores:.1f} % ({cores} cores, load {os.getloadavg()[0]:.1f})"
    )
    report(
        f"Monitor list at {N_HTTP + N_TCP:,} monitors, {REQUESTS} sequential requests each, while checks run",
        rows,
    )
    worst = max(percentile(samples, 95) for _, samples in rows[2:])
    print(f"worst p95 of page/API through the ASGI server: {worst:.2f} ms (target < 200 ms)")

    assert outcomes.get("up", 0) >= 0.99 * window.count()
    assert achieved >= 0.95 * due_rate
    assert percentile(lateness, 99) < 1.0
    assert worst < 200
