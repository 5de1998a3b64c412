"""What paging costs a delivery tick, alone: the storm's pages sent by one tick in this process.

    make bench PYTEST_ARGS=tests/bench/test_delivery_tick_cost.py

The demo data is seeded into the test database, its webhook channel pointing at a loopback receiver
and its e-mail at a loopback SMTP server, both in a process of their own (``running_peers``). Then
``BENCH_INCIDENTS`` (500) Alertmanager alerts each open an incident of the demo escalation policy,
an escalation tick writes their pages, and one delivery tick sends them all, in three rounds. It
prints the CPU time of this process (the tick's thread and its sender threads, and each apart) and
the wall time per page, the database server's CPU a page, and the escalation
tick's CPU and wall time per incident. In the storm, delivery is the tick's one thread under load
(``docs/benchmarks.md``); this shows what a change does to that cost without the noise.
``BENCH_PROFILE=1`` adds the tick thread's profile, by function, cumulative
(``BENCH_PROFILE=tottime``: by each function's own time).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from incidents.models import Integration
from notifications.delivery import run_delivery_tick
from notifications.escalation.tick import run_escalation_tick
from notifications.models import Notification, NotificationStatus
from tests.bench.http_load import am_batch
from tests.bench.timing import database_cpu
from tests.faults.load import AM_KEY
from tests.faults.peers import running_peers
from tests.notifications.peers import mail_through

INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "500"))
ROUNDS = 3
BATCH = 50


def _open_incidents(client: Client, round_: int) -> None:
    path = f"/api/v1/integrations/{AM_KEY}/alertmanager/"
    for first in range(0, INCIDENTS, BATCH):
        keys = [f"cost-{round_}-{n:05d}" for n in range(first, first + BATCH)]
        body = am_batch(keys, "2026-01-01T00:00:00Z")
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 202, response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
def test_delivery_tick_costs(monkeypatch):
    with (
        running_peers(own_process=True) as peers,
        override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]),
        mail_through(peers.smtp_port),
    ):
        monkeypatch.setenv("DEMO_WEBHOOK_URL", peers.webhook.url("/pages"))
        call_command("seed_demo", stdout=io.StringIO())
        Integration.objects.update(throttle_rate="100000000/min", grouping=False)
        # The seeded incidents' own pages first, so that every round starts from an empty outbox.
        run_escalation_tick()
        run_delivery_tick(time_budget=120)
        client = Client()
        profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        figures, escalation, split = [], [], []
        for n in range(ROUNDS):
            _open_incidents(client, n)
            cpu, wall = time.process_time(), time.perf_counter()
            run_escalation_tick()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            escalation.append((cpu * 1000 / INCIDENTS, wall * 1000 / INCIDENTS))
            due = Notification.objects.filter(status=NotificationStatus.PENDING).count()
            database = database_cpu()
            cpu, wall, own = time.process_time(), time.perf_counter(), time.thread_time()
            if profile:
                profile.enable()
            stats = run_delivery_tick(time_budget=300)
            if profile:
                profile.disable()
            cpu, wall, own = time.process_time() - cpu, time.perf_counter() - wall, time.thread_time() - own
            database = database_cpu() - database
            # The tick lingers LINGER_SECONDS after the outbox ran dry: not part of the pages' cost.
            wall -= 1.0
            figures.append((due, stats.sent, cpu * 1000 / due, wall * 1000 / due))
            split.append((own * 1000 / due, (cpu - own) * 1000 / due, database * 1000 / due))
        sent_rows = list(
            Notification.objects.filter(status=NotificationStatus.SENT).values_list(
                "idempotency_key", "medium"
            )
        )
        # The peers write what arrived every 100 ms.
        deadline = time.monotonic() + 10
        while sum(peers.delivered().values()) < len(sent_rows) and time.monotonic() < deadline:
            time.sleep(0.2)
        arrived = peers.delivered()

    print(f"\nOne delivery tick in this process, {ROUNDS} rounds of {INCIDENTS} new incidents each")
    for n, (due, sent, cpu_ms, wall_ms) in enumerate(figures):
        print(
            f"round {n + 1}: {due} pages due, {sent} sent; CPU {cpu_ms:.2f} ms, wall {wall_ms:.2f} ms a page"
        )
    for n, (own_ms, senders_ms, database_ms) in enumerate(split):
        print(
            f"round {n + 1}: of the CPU a page, the tick's own thread {own_ms:.2f} ms, the sender threads"
            f" {senders_ms:.2f} ms; the database's {database_ms:.2f} ms"
        )
    for n, (cpu_ms, wall_ms) in enumerate(escalation):
        print(f"round {n + 1}: escalation tick CPU {cpu_ms:.2f} ms, wall {wall_ms:.2f} ms an incident")
    cpu_ms = sorted(f[2] for f in figures)[1]
    wall_ms = sorted(f[3] for f in figures)[1]
    print(f"median: CPU {cpu_ms:.2f} ms, wall {wall_ms:.2f} ms a page = {1000 / wall_ms:.0f} pages/s")
    if profile:
        out = io.StringIO()
        order = os.environ["BENCH_PROFILE"] if os.environ["BENCH_PROFILE"] != "1" else "cumulative"
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(45)
        print(out.getvalue())
    for due, sent, *_ in figures:
        assert sent == due  # every page due was sent, by this tick
    doubled = [key for key, times in arrived.items() if key and times > 1]
    assert not doubled
    missing = [(key, medium) for key, medium in sent_rows if arrived[key] != 1]
    assert not missing, (len(missing), missing[:5], len(sent_rows), sum(arrived.values()))
