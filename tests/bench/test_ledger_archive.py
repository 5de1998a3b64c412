"""Archiving a long ledger chain, and what it does to ingestion running beside it.

    make bench PYTEST_ARGS="-k ledger_archive"                       # 1,000,000 entries
    BENCH_ARCHIVE_ENTRIES=100000 make bench PYTEST_ARGS="-k ledger_archive"

One organization gets ``BENCH_ARCHIVE_ENTRIES`` ledger entries older than its hot window, written
with COPY as one valid hash chain. Another organization's PagerDuty integration is then driven at
``BENCH_ARCHIVE_RATE`` events/s (default 50) for ``BENCH_SECONDS`` (default 15) through the real
ASGI server, first alone, then while the archive job (file backend, signed checkpoints, batched
deletes through ``audit_ledger_delete_archived``) runs in this process. It prints archived
entries/s and ingestion p50/p99 before and during, checks that the chain still verifies from the
archive, and runs pgbench's single-row INSERT for 10 s as the machine's baseline.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from audit.archive import signing
from audit.hashing import GENESIS_HASH, canonical_json, entry_digest, normalize_data
from audit.models import LedgerCheckpoint, LedgerEntry
from tests.accounts.factories import OrganizationFactory
from tests.bench.tenant import bench_tenant
from tests.bench.test_ingestion import paced, pd_event, pgbench_insert_tps
from tests.bench.timing import percentile
from tests.retention import keep_days, purge
from tests.servers import asgi_server

ENTRIES = int(os.environ.get("BENCH_ARCHIVE_ENTRIES", "1000000"))
RATE = float(os.environ.get("BENCH_ARCHIVE_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
COLUMNS = (
    "organization_id",
    "sequence",
    "actor_type",
    "actor_id",
    "actor_label",
    "verb",
    "target_type",
    "target_id",
    "data",
    "created_at",
    "prev_hash",
    "entry_hash",
)


def seed_chain(organization_id: int, count: int) -> None:
    """``count`` entries of one valid chain, 400 days old, with COPY (record() would take an hour)."""
    start = timezone.now() - timedelta(days=400)
    prev = GENESIS_HASH
    chunk = 20000
    with connection.cursor() as cursor:
        for first in range(1, count + 1, chunk):
            with cursor.copy(f"COPY audit_ledgerentry ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for sequence in range(first, min(first + chunk, count + 1)):
                    fields = {
                        "organization_id": organization_id,
                        "sequence": sequence,
                        "actor_type": "system",
                        "actor_id": "bench",
                        "actor_label": "bench",
                        "verb": "bench.event",
                        "target_type": "bench",
                        "target_id": str(sequence % 1000),
                        "data": normalize_data({"n": sequence, "note": "archived by the benchmark"}),
                        "created_at": start + timedelta(microseconds=sequence * 10),
                        "prev_hash": prev,
                    }
                    prev = entry_digest(**fields)
                    copy.write_row([*(fields[c] for c in COLUMNS[:8]), canonical_json(fields["data"]),
                                    fields["created_at"], fields["prev_hash"], prev])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_ledgerentry")


@pytest.mark.timeout(7200)
@pytest.mark.django_db(transaction=True)
def test_ledger_archive(settings, tmp_path):
    settings.LEDGER_ARCHIVE_DIR = tmp_path / "archive"
    settings.LEDGER_SIGNING_KEY = signing.generate_key_text()
    settings.MONGO_URL = ""
    settings.RETENTION_BATCH_PAUSE_SECONDS = 0.02
    keep_days(settings, "ledger_hot", 365)
    archived_org = OrganizationFactory(name="Archive", slug="archive")
    pd = bench_tenant().integration("pagerduty", "PD")

    began = time.perf_counter()
    seed_chain(archived_org.pk, ENTRIES)
    seeded = time.perf_counter() - began

    env = {"ALLOW_DEV_SECRET": "1", "SECURE_COOKIES": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    count = int(RATE * SECONDS)
    with asgi_server(workers=1, settings_module="opsplatform.settings", env=env) as server:
        warm = [pd_event(pd.key, f"warm-{i}") for i in range(100)]
        asyncio.run(paced(server.port, "/v2/enqueue", warm, RATE * 2))
        before = [pd_event(pd.key, f"before-{i % 500}") for i in range(count)]
        before_lat, before_status, _ = asyncio.run(paced(server.port, "/v2/enqueue", before, RATE))

        result = {}

        def archive():
            try:
                started = time.perf_counter()
                result["removed"] = purge("ledger_hot", organization_id=archived_org.pk)
                result["seconds"] = time.perf_counter() - started
            finally:
                connections.close_all()

        worker = threading.Thread(target=archive)
        worker.start()
        during = [pd_event(pd.key, f"during-{i % 500}") for i in range(count)]
        during_started = time.perf_counter()
        during_lat, during_status, _ = asyncio.run(paced(server.port, "/v2/enqueue", during, RATE))
        during_ended = time.perf_counter()
        worker.join()
    tps = pgbench_insert_tps()

    out = io.StringIO()
    call_command("verify_ledger", "--archive", stdout=out)
    removed, seconds = result["removed"], result["seconds"]
    overlap = min(1.0, seconds / (during_ended - during_started))
    spans = LedgerCheckpoint.objects.filter(organization=archived_org).count()
    print()
    print(f"seeded {ENTRIES:,} entries with COPY in {seeded:.1f} s")
    print(
        f"archived {removed:,} entries in {seconds:.1f} s: {removed / seconds:,.0f} entries/s, {spans} spans"
    )
    print(f"ingestion at {RATE:.0f}/s, {count} events each:   p50 ms   p99 ms")
    for label, latencies in (
        ("before archiving", before_lat),
        (f"while archiving ({overlap:.0%})", during_lat),
    ):
        print(f"  {label:<36}{percentile(latencies, 50):>7.1f}  {percentile(latencies, 99):>7.1f}")
    print(f"pgbench single-row INSERT: {tps:.0f} tps" if tps else "pgbench: not installed")
    assert removed == ENTRIES - 1  # the newest entry stays: the live chain continues from it
    assert LedgerEntry.objects.filter(organization=archived_org).count() == 2  # + the run's own entry
    assert set(before_status) == {202} and set(during_status) == {202}
