"""What the workflow engine costs for each new incident of a storm, alone: the incident playbook and
the demo's automation, as the general worker runs them.

    make bench PYTEST_ARGS=tests/bench/test_workflow_cost.py

The demo's automation rules (``opsplatform.devtools.demo.seed_automation``) and the built-in
playbook, on a service the payments rule matches: each new SEV2 incident starts a playbook run (a
run, five tasks, their ledger entries and pushes) and two automation actions (raise the priority,
notify the operators). Rounds of ``BENCH_INCIDENTS`` (300) incidents, opened beforehand through
``incident_create`` (not measured); then ``run_playbook_tick`` and ``run_automation_tick`` until
neither finds anything left, as the beat would call them. Ledger entries are staged and sealed, as
under ``make run``.

Printed per incident, for the playbook and the automation apart: CPU of this process, CPU of the
database backends (every session of the test database, the sealer's included), wall time, SQL
statements sent and ledger entries written. The storm benchmark shows what this adds beside
ingestion; this one shows what a change does to it without the noise.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

import psutil
import pytest
from django.db import connection

from audit.models import LedgerEntry
from incidents.services import incident_create
from opsplatform.core.actors import Actor
from opsplatform.devtools.demo.seed_automation import RULES
from tests.incidents.factories import ServiceFactory
from tests.statements import sent
from workflows.automation.models import AutomationExecution, ExecutionState
from workflows.automation.services import rule_create
from workflows.automation.tick import run_automation_tick
from workflows.models import Task, WorkflowRun
from workflows.ticks import run_playbook_tick

INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "300"))
ROUNDS = 3


def _backend_cpu() -> dict[int, float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [pid for (pid,) in cursor.fetchall()]
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        seconds[pid] = times.user + times.system
    return seconds


class Cost:
    """CPU (this process, the database's backends), wall time and statements of what runs inside."""

    def __init__(self):
        self.cpu = self.db_cpu = self.wall = 0.0
        self.statements = 0

    @contextmanager
    def measure(self):
        backends, cpu, wall = _backend_cpu(), time.process_time(), time.perf_counter()
        with sent() as statements:
            yield
        self.statements += len(statements)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        time.sleep(0.3)  # the sealer's last seal, after the last commit
        after = _backend_cpu()
        self.db_cpu += sum(seconds - backends.get(pid, 0.0) for pid, seconds in after.items())


def _drain(tick) -> None:
    while tick():
        pass


def _automation_busy() -> bool:
    done = run_automation_tick(budget=5)
    return bool(done["planned"] or done.get("succeeded") or done.get("failed") or done.get("skipped"))


@pytest.mark.django_db(transaction=True)
def test_workflow_engine_cost_per_incident(settings, org, users):
    settings.LEDGER_SEAL_DEFERRED = True  # as under `make run` (the test settings append inline)
    manager = Actor.for_member(users["manager"], org)
    for values in RULES:
        rule_create(actor=manager, **values)
    service = ServiceFactory(organization=org, name="Payments API", slug="payments-api")
    opener = Actor.system("bench", organization=org)
    run_automation_tick()  # the cursor starts at the end of the chain

    rows = {"playbook": [], "automation": []}
    for round_number in range(ROUNDS):
        for n in range(INCIDENTS):
            incident_create(
                actor=opener,
                title=f"Card payments failing {round_number}-{n}",
                severity="sev2",
                service=service,
            )
        for name, tick in (("playbook", run_playbook_tick), ("automation", _automation_busy)):
            entries = LedgerEntry.objects.count()
            cost = Cost()
            with cost.measure():
                _drain(tick)
            written = LedgerEntry.objects.count() - entries
            rows[name].append((cost, written))

    print(f"\nWorkflow engine, {ROUNDS} rounds of {INCIDENTS} new SEV2 payments incidents")
    header = f"{'per incident':<14}{'round':>6}{'CPU ms':>9}{'DB CPU ms':>11}{'wall ms':>9}"
    print(f"{header}{'SQL':>7}{'entries':>9}")
    for name, measured in rows.items():
        for number, (cost, written) in enumerate(measured, 1):
            print(
                f"{name:<14}{number:>6}{cost.cpu / INCIDENTS * 1000:>9.2f}"
                f"{cost.db_cpu / INCIDENTS * 1000:>11.2f}{cost.wall / INCIDENTS * 1000:>9.2f}"
                f"{cost.statements / INCIDENTS:>7.1f}{written / INCIDENTS:>9.1f}"
            )
        total = statistics.median((c.cpu + c.db_cpu) / INCIDENTS * 1000 for c, _ in measured)
        print(f"{name}: median CPU (process + database) {total:.2f} ms an incident")

    opened = ROUNDS * INCIDENTS
    assert WorkflowRun.objects.filter(incident__service=service).count() == opened
    assert Task.objects.filter(incident__service=service).count() == 5 * opened
    executions = AutomationExecution.objects.filter(incident__service=service)
    assert executions.count() == 2 * opened
    assert not executions.exclude(state=ExecutionState.SUCCEEDED).exists()
