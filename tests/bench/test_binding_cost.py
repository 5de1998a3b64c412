"""What binding ingestion's statements on the server saves an Alertmanager batch, paired in one run:

    make bench PYTEST_ARGS=tests/bench/test_binding_cost.py

Batches of 50 alerts from the storm's key stream (as ``test_ingest_batch_cost.py`` sends them) in
alternating rounds of ``BENCH_ROUNDS_OF`` (25): one round with ingestion's hand-written statements
bound on the server (``bound_cursor``, as shipped), the next with the same statements through Django's
cursor, which quotes every value into the text, and so on for ``BENCH_PAIRS`` (8) pairs, the order
swapped each pair. Neighbouring rounds see the same machine and nearly the same table sizes, so the
paired ratio holds on a machine whose speed drifts by half within the hour (docs/benchmarks.md),
where two runs of the batch benchmark apart do not.
"""

from __future__ import annotations

import os
import statistics

import pytest
from django.db import connection
from django.test import Client

from incidents.ingest import batch, new_incidents, pending, sql
from incidents.models import Incident
from opsplatform.core.prepared import bound_cursor
from tests.bench.http_load import KeyStream, am_batch
from tests.bench.tenant import bench_tenant
from tests.bench.timing import cost_rounds

ROUND = int(os.environ.get("BENCH_ROUNDS_OF", "25"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "8"))
WARM_UP = 20
USERS = (batch, new_incidents, pending, sql)  # the modules whose statements bind on the server


def _django_cursor(params=()):
    return connection.cursor()


@pytest.mark.django_db(transaction=True)
def test_binding_on_the_server_against_the_client(monkeypatch):
    tenant = bench_tenant()
    issued = tenant.integration("alertmanager", "AM", grouping=False)
    keys = KeyStream("am", seed=2)
    bodies = [
        am_batch([keys.next() for _ in range(50)], "2026-01-01T00:00:00Z")
        for _ in range(WARM_UP + 2 * PAIRS * ROUND)
    ]
    client, path = Client(), f"/api/v1/integrations/{issued.key}/alertmanager/"

    def send(chunk: list[bytes]) -> None:
        for body in chunk:
            response = client.post(path, body, content_type="application/json")
            assert response.status_code == 202, response.content

    def use(cursor) -> None:
        for module in USERS:
            monkeypatch.setattr(module, "bound_cursor", cursor)

    send(bodies[:WARM_UP])
    server, client_side = [], []
    chunks = iter(bodies[WARM_UP + n : WARM_UP + n + ROUND] for n in range(0, 2 * PAIRS * ROUND, ROUND))
    for pair in range(PAIRS):
        order = [(server, bound_cursor), (client_side, _django_cursor)]
        for figures, cursor in order if pair % 2 == 0 else reversed(order):
            use(cursor)
            figures.append(cost_rounds(send, [next(chunks)])[0][0])
    use(bound_cursor)

    ratios = [s / c for s, c in zip(server, client_side, strict=True)]
    print(f"\nAlertmanager batches of 50, {PAIRS} pairs of rounds of {ROUND}, CPU of this process a batch")
    print(f"bound on the server: median {statistics.median(server):.1f} ms")
    print(f"bound on the client: median {statistics.median(client_side):.1f} ms")
    print(f"paired ratio (server / client): median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")  # fmt: skip
    assert Incident.objects.filter(organization=tenant.org).count() == keys.used
