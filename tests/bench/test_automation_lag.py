"""Automation lag under a storm: ledger event → action executed, at 100 events a second.

    DATABASE_URL=… REDIS_URL=… pytest tests/bench/test_automation_lag.py -s -p no:randomly

Producers open incidents through ``incident_create`` (each writes its ``incident.triggered`` ledger
entry) at ``BENCH_EVENTS_PER_SECOND`` (100) for ``BENCH_STORM_SECONDS`` (10); a rule reacts to every
one of them by raising its priority (through ``incident_update``: an incident lock, a change and a
ledger entry, like any action). The consumer plays the beat: ``run_automation_tick`` every
``AUTOMATION_TICK_SECONDS`` of the beat schedule (2 s), in its own thread and connection.

Lag is the execution's ``finished_at`` minus the ledger entry's ``created_at``. Same-run baseline:
single events with the tick run at once (no storm), so the figure shows what the storm and the tick
period add. ``BENCH_WORKERS`` (3) tick loops overlap like a worker's concurrency. Printed: lag
p50/p95/p99/max, the storm rate the producers achieved, tick durations, executions lost and
duplicated, and whether the p99 target (tick period + 2 s) was met. Asserted: every event acted on,
exactly once.
"""

import os
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from incidents.models import Incident
from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.bench.timing import percentile
from tests.incidents.factories import ServiceFactory
from workflows.automation.models import AutomationExecution, ExecutionState
from workflows.automation.services import rule_create
from workflows.automation.tick import run_automation_tick

RATE = int(os.environ.get("BENCH_EVENTS_PER_SECOND", "100"))
STORM_SECONDS = int(os.environ.get("BENCH_STORM_SECONDS", "10"))
PRODUCERS = 2
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
BASELINE_EVENTS = 20
TICK = settings.CELERY_BEAT_SCHEDULE["workflows-automation"]["schedule"]


def _lags(incident_ids) -> list[float]:
    rows = AutomationExecution.objects.filter(incident_id__in=incident_ids, state=ExecutionState.SUCCEEDED)
    return [(row.finished_at - row.event_at).total_seconds() * 1000 for row in rows]


def _produce(actor, service, count, period, ids, errors):
    try:
        start = time.monotonic()
        for n in range(count):
            delay = start + n * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ids.append(incident_create(actor=actor, title=f"Storm {n}", severity="sev2", service=service).pk)
    except Exception as exc:  # reported by the test, not lost in a thread
        errors.append(exc)
    finally:
        connection.close()


def _beat(stop, durations, errors):
    """One worker process of the beat's tick; ``WORKERS`` of them overlap, as Celery's concurrency
    does, and split the due rows with SKIP LOCKED."""
    try:
        while not stop.is_set():
            started = time.monotonic()
            run_automation_tick()
            durations.append((time.monotonic() - started) * 1000)
            stop.wait(max(0.0, TICK - (time.monotonic() - started)))
    except Exception as exc:
        errors.append(exc)
    finally:
        connection.close()


def _drain(ids, limit_seconds=300):
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        run_automation_tick()
        waiting = AutomationExecution.objects.filter(incident_id__in=ids).exclude(
            state=ExecutionState.SUCCEEDED
        )
        if not waiting.exists() and AutomationExecution.objects.filter(incident_id__in=ids).count() >= len(
            ids
        ):
            return


def _row(name, samples):
    return (
        f"{name:<34}{len(samples):>7}{percentile(samples, 50):>10.0f}{percentile(samples, 95):>10.0f}"
        f"{percentile(samples, 99):>10.0f}{max(samples):>10.0f}"
    )


@pytest.mark.timeout(1800)
@pytest.mark.django_db(transaction=True)
def test_automation_lag_under_a_storm(org, users):
    service = ServiceFactory(organization=org, slug="payments")
    manager = Actor.for_member(users["manager"], org)
    operator = Actor.for_member(users["operator"], org)
    rule_create(
        actor=manager,
        name="Storm: raise priority",
        trigger="incident.triggered",
        conditions={"groups": [{"matchers": [{"field": "service", "op": "equals", "value": "payments"}]}]},
        actions=[{"type": "set_priority", "priority": "p1"}],
    )

    # Baseline, same run: one event, the tick right after it.
    baseline_ids = []
    for n in range(BASELINE_EVENTS):
        baseline_ids.append(
            incident_create(actor=operator, title=f"Alone {n}", severity="sev2", service=service).pk
        )
        run_automation_tick()
    baseline = _lags(baseline_ids)

    # The storm.
    per_producer = RATE * STORM_SECONDS // PRODUCERS
    period = PRODUCERS / RATE
    ids, durations, errors, stop = [], [], [], threading.Event()
    beats = [threading.Thread(target=_beat, args=(stop, durations, errors)) for _ in range(WORKERS)]
    producers = [
        threading.Thread(target=_produce, args=(operator, service, per_producer, period, ids, errors))
        for _ in range(PRODUCERS)
    ]
    for beat in beats:
        beat.start()
    started = time.monotonic()
    try:
        for thread in producers:
            thread.start()
        for thread in producers:
            thread.join()
        produced_in = time.monotonic() - started
    finally:
        # The tick threads must be done before the test database is flushed.
        stop.set()
        for beat in beats:
            beat.join()
    assert not errors, errors
    _drain(ids)

    storm = _lags(ids)
    executions = AutomationExecution.objects.filter(incident_id__in=ids)
    lost = len(ids) - executions.values("incident_id").distinct().count()
    duplicated = executions.count() - executions.values("incident_id").distinct().count()
    not_raised = Incident.objects.filter(pk__in=ids).exclude(priority="p1").count()

    target = (TICK + 2) * 1000
    print(f"\nAutomation lag (ledger event → action executed), tick every {TICK:.1f} s, {WORKERS} workers")
    print(f"{'what':<34}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(_row("baseline: one event, tick at once", baseline))
    print(_row(f"storm: {RATE}/s for {STORM_SECONDS} s", storm))
    print(_row("tick duration during the storm", durations))
    print(f"{'storm rate achieved':<34}{len(ids) / produced_in:>7.1f} events/s")
    print(f"{'lost / duplicated / not applied':<34}{lost:>7} / {duplicated} / {not_raised}")
    met = "met" if percentile(storm, 99) < target else "NOT met"
    print(f"{'target p99 < tick + 2 s':<34}{met:>7}")

    assert len(ids) == RATE * STORM_SECONDS
    assert lost == 0 and duplicated == 0 and not_raised == 0
