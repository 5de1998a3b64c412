"""What one PagerDuty event costs a web process, alone: no paging, no other client, no HTTP parsing.

    make bench PYTEST_ARGS=tests/bench/test_single_event_cost.py

Events from the storm's key stream (90% repeats over 10,000 keys, so one in ten opens an incident)
go through the ingestion handler of ``opsplatform.asgi`` in this process (its thread pool, the lean
middleware, the view, the throttle, the key cache and the group commit), 32 at a time as 32
connections would send them, against the test database. The key cache is on and connections are
kept and ledger entries staged for the sealer thread, as under ``make run``. It prints this
process's CPU time, the wall time and the database server's CPU per event, over ``BENCH_EVENTS``
(3,000) events after 2,000 to warm up (then ``ANALYZE``, as autovacuum keeps a live database's
statistics), in three rounds. The storm benchmark measures
the same path under load, beside paging; this one shows what a change does to it without the noise.

Then the floor: the same bodies through the same handler to a view that only answers 202
(``tests/bench/floor_urls.py``), and which share of an event's CPU that is: what no change to
ingestion's own code can take away.
"""

from __future__ import annotations

import asyncio
import os
import statistics

import pytest
from django.db import connections

from incidents.models import Incident
from tests.asgi_post import post
from tests.bench.http_load import KeyStream, pd_event
from tests.bench.tenant import bench_tenant
from tests.bench.timing import analyze, cost_rounds, end_other_connections, print_rounds

CONNECTIONS = 32
EVENTS = int(os.environ.get("BENCH_EVENTS", "3000"))
WARM_UP = 2000
ROUNDS = 3


async def _send_all(app, bodies: list[bytes]) -> list[int]:
    pending = list(reversed(bodies))
    statuses = []

    async def sender():
        while pending:
            statuses.append(await post(app, "/v2/enqueue", pending.pop()))

    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    return statuses


@pytest.mark.django_db(transaction=True)
def test_one_pagerduty_event_costs(settings):
    settings.INGEST_KEY_CACHE_SECONDS = 30.0  # on, as in production (the test settings turn it off)
    settings.LEDGER_SEAL_DEFERRED = True  # as under `make run` (the test settings append inline)
    # Each request thread keeps its connection, as a pool would lend it one (tests have no pool).
    kept = connections.settings["default"]["CONN_MAX_AGE"]
    connections.settings["default"]["CONN_MAX_AGE"] = None
    from opsplatform.asgi import ingestion_app

    tenant = bench_tenant()
    issued = tenant.integration("pagerduty", "PD")
    keys = KeyStream("pd", seed=3)
    bodies = [pd_event(issued.key, keys.next()) for _ in range(WARM_UP + ROUNDS * EVENTS)]
    statuses = []

    def send(chunk: list[bytes]) -> None:
        statuses.extend(asyncio.run(_send_all(ingestion_app, chunk)))

    try:
        send(bodies[:WARM_UP])
        analyze()
        chunks = [bodies[WARM_UP + n * EVENTS : WARM_UP + (n + 1) * EVENTS] for n in range(ROUNDS)]
        database_ms: list[float] = []
        cpu_ms, wall_ms = cost_rounds(send, chunks, database_ms)
    finally:
        connections.settings["default"]["CONN_MAX_AGE"] = kept
        end_other_connections()  # the handler's, the committer's and the sealer's threads'

    opened = Incident.objects.filter(organization=tenant.org).count()
    print(f"\nPagerDuty events, {CONNECTIONS} at a time in this process, {ROUNDS} rounds of {EVENTS}")
    print(f"incidents opened: {opened} over {len(bodies)} events")
    cpu, wall = print_rounds(cpu_ms, wall_ms, "an event", decimals=2)
    print(f"median: CPU {cpu:.2f} ms, wall {wall:.2f} ms an event = {1000 / wall:.0f} events/s")
    rounds = ", ".join(f"{ms:.2f}" for ms in database_ms)
    print(f"the database's CPU an event: {rounds} ms; median {statistics.median(database_ms):.2f}")

    settings.ROOT_URLCONF = "tests.bench.floor_urls"
    floor_statuses = []
    floor_cpu, _ = cost_rounds(
        lambda chunk: floor_statuses.extend(asyncio.run(_send_all(ingestion_app, chunk))), chunks
    )
    floor = statistics.median(floor_cpu)
    print(
        f"floor (the same handler, a view that only answers 202): CPU {floor:.2f} ms a request,"
        f" {floor / cpu:.0%} of an event's"
    )
    assert floor_statuses == [202] * len(bodies[WARM_UP:])
    assert statuses == [202] * len(bodies)
    assert opened == keys.used  # every new key opened its incident, once
