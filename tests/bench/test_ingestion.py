"""Sustained alert ingestion through the real ASGI server on loopback, beside pgbench on the same database.

    make bench PYTEST_ARGS="-k ingestion"

Two loads, each with 90% duplicates over 10,000 dedup keys (one event in ten uses a key not sent
before, the others repeat a random earlier key):

* single PagerDuty events on ``POST /v2/enqueue``, paced at ``BENCH_PD_RATE`` requests/s (default 300)
  for ``BENCH_SECONDS`` seconds; latency is measured from each request's scheduled start, so a server
  falling behind shows up as latency instead of being hidden by a slower send rate; then as fast as
  ``BENCH_PD_CONCURRENCY`` connections allow (the most it sustains);
* Alertmanager notifications of 50 alerts on ``POST /api/v1/integrations/<key>/alertmanager/``,
  as fast as ``BENCH_AM_CONCURRENCY`` connections allow.

Then it counts: every key sent has exactly one open incident (nothing lost, nothing doubled), and
each PagerDuty incident counted exactly the triggers sent for its key. pgbench runs a single-row
INSERT into a scratch table on the same database for 10 s to show what the database itself does on
this machine. Knobs: ``BENCH_WORKERS`` (uvicorn processes, default 2), ``BENCH_SECONDS`` (default 20).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from incidents.models import Alert, Incident, Integration, Status
from tests.bench.http_load import KeyStream, am_batch, paced, pd_event, saturate
from tests.bench.tenant import bench_tenant
from tests.bench.timing import percentile
from tests.servers import asgi_server

BASE_DIR = Path(__file__).resolve().parents[2]
BATCH = 50
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
PD_RATE = float(os.environ.get("BENCH_PD_RATE", "300"))
AM_CONCURRENCY = int(os.environ.get("BENCH_AM_CONCURRENCY", "6"))
PD_MAX_CONCURRENCY = int(os.environ.get("BENCH_PD_CONCURRENCY", "8"))
PD_MAX_EVENTS = 4000
PD_PACED_CONNECTIONS = 16
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# The settings module the server runs with: production settings unless told otherwise.
SERVER_SETTINGS = os.environ.get("BENCH_SERVER_SETTINGS", "opsplatform.settings")
POOL_SIZE = int(os.environ.get("BENCH_DB_POOL_MAX_SIZE", "8"))
PD_TARGET_RPS, PD_TARGET_P99_MS, AM_TARGET_ALERTS = 300, 100, 2000


def _pg_env() -> dict:
    """libpq's variables for the test database, from the live connection (see ``database_url``)."""
    connection.ensure_connection()
    info = connection.connection.info
    env = {**os.environ, "PGUSER": info.user, "PGDATABASE": info.dbname}
    env["PGHOST"], env["PGPORT"] = info.host, str(info.port)
    if info.password:
        env["PGPASSWORD"] = info.password
    return env


# --- pgbench ------------------------------------------------------------------------------------


def pgbench_insert_tps() -> float | None:
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not os.path.exists(binary):
        return None
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_pgbench_scratch")
        cursor.execute(
            "CREATE TABLE bench_pgbench_scratch (id bigserial PRIMARY KEY, k text, at timestamptz)"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_pgbench_scratch (k, at) VALUES (md5(random()::text), now());\n")
    try:
        result = subprocess.run(
            [binary, "-n", "-T", "10", "-c", "2", "-f", script.name],
            env=_pg_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.unlink(script.name)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_pgbench_scratch")
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    return float(match.group(1)) if match else None


# --- the benchmark ------------------------------------------------------------------------------


def _row(name, n, elapsed, latencies, events):
    return (
        f"{name:<40}{n:>8}{n / elapsed:>10.0f}{events / elapsed:>10.0f}"
        f"{percentile(latencies, 50):>9.1f}{percentile(latencies, 99):>9.1f}"
    )


@pytest.mark.django_db(transaction=True)
def test_sustained_ingestion():
    tenant = bench_tenant()
    pd = tenant.integration("pagerduty", "PD")
    am = tenant.integration("alertmanager", "AM", grouping=False)
    server_env = {
        "ALLOW_DEV_SECRET": "1",
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    with asgi_server(
        workers=WORKERS, settings_module=SERVER_SETTINGS, pool_size=POOL_SIZE, env=server_env
    ) as server:
        port = server.port
        pd_keys = KeyStream("pd", seed=1)
        pd_bodies = [pd_event(pd.key, pd_keys.next()) for _ in range(int(PD_RATE * SECONDS))]
        pd_max_bodies = [pd_event(pd.key, pd_keys.next()) for _ in range(PD_MAX_EVENTS)]
        am_keys = KeyStream("am", seed=2)
        n_batches = int(AM_TARGET_ALERTS * 1.5 * SECONDS / BATCH)
        am_bodies = [
            am_batch([am_keys.next() for _ in range(BATCH)], "2026-01-01T00:00:00Z") for _ in range(n_batches)
        ]
        # Warm up every worker (imports, database pool) at the paced phase's concurrency, on keys the
        # checks below ignore.
        warm = [pd_event(pd.key, f"warm-{i}") for i in range(400)]
        asyncio.run(saturate(port, "/v2/enqueue", warm, PD_PACED_CONNECTIONS))
        # Table statistics as autovacuum keeps them on a live database: this one was created empty
        # seconds ago, and plans made for empty tables would measure the test set-up, not ingestion.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        pd_lat, pd_status, pd_elapsed = asyncio.run(
            paced(port, "/v2/enqueue", pd_bodies, PD_RATE, PD_PACED_CONNECTIONS)
        )
        max_lat, max_status, max_elapsed = asyncio.run(
            saturate(port, "/v2/enqueue", pd_max_bodies, PD_MAX_CONCURRENCY)
        )
        am_path = f"/api/v1/integrations/{am.key}/alertmanager/"
        am_lat, am_status, am_elapsed = asyncio.run(saturate(port, am_path, am_bodies, AM_CONCURRENCY))
    tps = pgbench_insert_tps()

    # --- counting afterwards: nothing lost, nothing doubled --------------------------------------
    pd_open = dict(
        Incident.objects.filter(integration_id=pd.integration.pk, status=Status.TRIGGERED)
        .exclude(dedup_key__startswith="warm-")
        .values_list("dedup_key", "alert_occurrences")
    )
    pd_all = Incident.objects.filter(integration_id=pd.integration.pk).exclude(dedup_key__startswith="warm-")
    am_open = set(
        Incident.objects.filter(integration_id=am.integration.pk, status=Status.TRIGGERED).values_list(
            "dedup_key", flat=True
        )
    )
    am_alerts = Alert.objects.filter(integration_id=am.integration.pk).count()
    lost_pd = set(pd_keys.sent) - set(pd_open)
    doubled_pd = pd_all.count() - len(pd_open)
    miscounted_pd = [k for k, n in pd_keys.sent.items() if pd_open.get(k) != n]
    lost_am = set(am_keys.sent) - am_open

    pd_events = sum(pd_keys.sent.values())
    am_events = sum(am_keys.sent.values())
    pd_statuses = pd_status + max_status
    print(f"\nAlert ingestion through uvicorn ({WORKERS} workers) on loopback, {os.cpu_count()} CPUs")
    print(f"{'load':<40}{'reqs':>8}{'req/s':>10}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print(_row(f"PD /v2/enqueue, paced at {PD_RATE:.0f}/s", len(pd_lat), pd_elapsed, pd_lat, len(pd_lat)))
    window = int(PD_RATE * 5)
    for first in range(0, len(pd_lat), window):
        part = pd_lat[first : first + window]
        print(
            _row(
                f"  scheduled at {first / PD_RATE:.0f}-{(first + len(part)) / PD_RATE:.0f} s",
                len(part),
                len(part) / PD_RATE,
                part,
                len(part),
            )
        )
    print(
        _row(
            f"PD /v2/enqueue, {PD_MAX_CONCURRENCY} connections (max)",
            len(max_lat),
            max_elapsed,
            max_lat,
            len(max_lat),
        )
    )
    print(
        _row(
            f"AM batches of {BATCH}, {AM_CONCURRENCY} connections", len(am_lat), am_elapsed, am_lat, am_events
        )
    )
    print(f"statuses: PD {dict(pd_statuses)}, AM {dict(am_status)}")
    print(
        f"keys: PD {len(pd_keys.sent)} over {pd_events} events, "
        f"AM {len(am_keys.sent)} over {am_events} alerts; duplicates "
        f"{1 - len(pd_keys.sent) / pd_events:.0%} / {1 - len(am_keys.sent) / am_events:.0%}"
    )
    print(
        f"incidents: PD {len(pd_open)} open ({doubled_pd} extra), AM {len(am_open)} open, "
        f"{am_alerts} AM alert rows; lost {len(lost_pd)} + {len(lost_am)}, miscounted {len(miscounted_pd)}"
    )
    print(f"pgbench single-row INSERT, 2 clients, 10 s, same database: {tps or 0:.0f} tps")

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    paced_p99, max_p99 = percentile(pd_lat, 99), percentile(max_lat, 99)
    # Paced latencies run from each request's scheduled start, so a server that cannot keep up with
    # the rate shows it in the p99 itself (the req/s column also counts the last requests' latency).
    print(
        f"targets: {PD_TARGET_RPS}/s single events with p99 < {PD_TARGET_P99_MS} ms: paced "
        f"{verdict(PD_RATE >= PD_TARGET_RPS and paced_p99 < PD_TARGET_P99_MS)}, at the maximum "
        f"{verdict(len(max_lat) / max_elapsed >= PD_TARGET_RPS and max_p99 < PD_TARGET_P99_MS)}; "
        f">= {AM_TARGET_ALERTS} alerts/s in batches: {verdict(am_events / am_elapsed >= AM_TARGET_ALERTS)}"
    )
    integration_counts = Integration.objects.filter(pk__in=[pd.integration.pk, am.integration.pk])
    assert integration_counts.count() == 2
    assert set(pd_statuses) == {202} and set(am_status) == {202}
    assert not lost_pd and not lost_am and doubled_pd == 0 and not miscounted_pd
    assert len(am_open) == len(am_keys.sent) == am_alerts
