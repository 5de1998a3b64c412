"""What one Alertmanager batch costs the web process, alone: no server, no paging, no other client.

    make bench PYTEST_ARGS=tests/bench/test_ingest_batch_cost.py

Batches of 50 alerts from the storm's key stream (90% re-sends over 10,000 keys, so ~5 new
incidents a batch at first) go through Django's request handler in this process, one after another,
against the test database, its ledger entries staged and sealed by the sealer thread as under
``make run``. It prints, per batch, the CPU time of this process, the wall time and the database
server's CPU, over ``BENCH_BATCHES`` (200) batches after 200 to warm up (then ``ANALYZE``, as
autovacuum keeps a live database's statistics), in three rounds. The storm benchmark measures the
same path under load; this one shows what a change does to it without the noise.
"""

from __future__ import annotations

import os
from statistics import median

import pytest
from django.test import Client

from incidents.models import Incident
from tests.bench.http_load import KeyStream, am_batch
from tests.bench.tenant import bench_tenant
from tests.bench.timing import analyze, cost_rounds, end_other_connections, print_rounds

BATCH = 50
BATCHES = int(os.environ.get("BENCH_BATCHES", "200"))
WARM_UP = 200
ROUNDS = 3


@pytest.mark.django_db(transaction=True)
def test_one_alertmanager_batch_costs(settings):
    settings.LEDGER_SEAL_DEFERRED = True  # as under `make run` (the test settings append inline)
    tenant = bench_tenant()
    issued = tenant.integration("alertmanager", "AM", grouping=False)
    keys = KeyStream("am", seed=2)
    bodies = [
        am_batch([keys.next() for _ in range(BATCH)], "2026-01-01T00:00:00Z")
        for _ in range(WARM_UP + ROUNDS * BATCHES)
    ]
    client, path = Client(), f"/api/v1/integrations/{issued.key}/alertmanager/"

    def send(batch: list[bytes]) -> None:
        for body in batch:
            response = client.post(path, body, content_type="application/json")
            assert response.status_code == 202, response.content

    send(bodies[:WARM_UP])
    analyze()
    chunks = [bodies[WARM_UP + n * BATCHES : WARM_UP + (n + 1) * BATCHES] for n in range(ROUNDS)]
    database_ms: list[float] = []
    try:
        cpu_ms, wall_ms = cost_rounds(send, chunks, database_ms)
    finally:
        end_other_connections()  # the ledger sealer's

    opened = Incident.objects.filter(organization=tenant.org).count()
    print(f"\nAlertmanager batches of {BATCH}, one client in this process, {ROUNDS} rounds of {BATCHES}")
    print(f"incidents opened: {opened} over {WARM_UP + ROUNDS * BATCHES} batches")
    cpu, wall = print_rounds(cpu_ms, wall_ms, "a batch")
    rate = BATCH * 1000 / wall
    print(f"median: CPU {cpu:.1f} ms, wall {wall:.1f} ms a batch = {rate:.0f} alerts/s from one client")
    rounds = ", ".join(f"{ms:.2f}" for ms in database_ms)
    print(
        f"the database's CPU a batch (this client's connection and the ledger sealer's): {rounds} ms;"
        f" median {median(database_ms):.2f}"
    )
    assert opened == keys.used  # every new key opened its incident, once
