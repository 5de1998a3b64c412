"""On-call and notifications: the escalation tick. Claims due incidents, runs their current step,
moves their position and timer on, and records it, one transaction per batch (see the package
docstring for the position, the timer and the fencing)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.services import record_many
from incidents.models import Incident, Status
from incidents.realtime import publish_incidents_after_commit
from notifications.escalation.targets import BatchReads, rows_for_step
from notifications.models import Notification

BATCH_SIZE = 100


@dataclass
class TickResult:
    incidents: int = 0
    steps: int = 0
    notifications: int = 0

    def __iadd__(self, other: TickResult) -> TickResult:
        self.incidents += other.incidents
        self.steps += other.steps
        self.notifications += other.notifications
        return self


def _clear(incident: Incident) -> None:
    incident.next_escalation_at = None


def _advance(incident: Incident, ctx: BatchReads, rows: list[Notification], events: list) -> int:
    """Run what is due for one locked incident; returns the number of steps run (0 or 1).

    Ledger entries are collected in ``events`` and written at the end of the batch (see _tick_batch).
    """
    if incident.status != Status.TRIGGERED:
        # Acknowledged, snoozed or resolved incidents have no timer; one left behind is stale.
        _clear(incident)
        return 0
    plan = ctx.plan_for(incident)
    if plan is None or not plan.steps:
        _clear(incident)
        events.append((incident, "escalation.no_policy", {"service": incident.service_id}))
        return 0
    count = len(plan.steps)
    index, cycle = incident.escalation_step, incident.escalation_cycle
    if index == 0 and cycle > 0:
        # Only a reopen stores this (it resets the step, not the round; this tick always stores the
        # step after the one it ran, and policy edits never store it): the escalation starts over.
        cycle = 0
    if index == count:
        if cycle < plan.policy.repeat_count:
            index, cycle = 0, cycle + 1
        else:
            incident.escalation_step = count + 1
            _clear(incident)
            data = {"policy": plan.policy.name, "cycles": cycle + 1}
            events.append((incident, "escalation.exhausted", data))
            return 0
    manual_after_end = index > count
    if manual_after_end:
        # Someone pressed "escalate now" after the policy ran out: page its last level again.
        index = count - 1
    new_rows, summary = rows_for_step(incident, plan, index, cycle, ctx)
    rows.extend(new_rows)
    step = plan.steps[index]
    if manual_after_end:
        _clear(incident)
    else:
        incident.escalation_step = index + 1
        incident.escalation_cycle = cycle
        incident.next_escalation_at = ctx.now + timedelta(minutes=step.delay_minutes)
    summary["next_at"] = incident.next_escalation_at.isoformat() if incident.next_escalation_at else None
    events.append((incident, "escalation.step_executed", summary))
    return 1


def _save_positions(incidents: list[Incident]) -> None:
    """One UPDATE … FROM (VALUES …) for the batch (Django's bulk_update builds a CASE per column,
    several times slower at a few hundred rows)."""
    table = Incident._meta.db_table
    values = ", ".join(["(%s, %s::timestamptz, %s, %s)"] * len(incidents))
    params = []
    for incident in incidents:
        params += [
            incident.pk,
            incident.next_escalation_at,
            incident.escalation_step,
            incident.escalation_cycle,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS i SET next_escalation_at = v.due, escalation_step = v.step, "  # noqa: S608
            f"escalation_cycle = v.cycle FROM (VALUES {values}) AS v(id, due, step, cycle) WHERE i.id = v.id",
            params,
        )


def _tick_batch(now: datetime, batch_size: int) -> tuple[TickResult, int]:
    result = TickResult()
    with transaction.atomic():
        incidents = list(
            Incident.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service", "organization")
            .filter(next_escalation_at__lte=now)
            .order_by("next_escalation_at")[:batch_size]
        )
        if not incidents:
            return result, 0
        ctx = BatchReads(now=now)
        ctx.preload(incidents)
        rows: list[Notification] = []
        events: list = []
        for incident in incidents:
            result.steps += _advance(incident, ctx, rows, events)
        if rows:
            written = timezone.now()
            for row in rows:
                row.created_at = row.updated_at = written
            # ON CONFLICT DO NOTHING on the idempotency key: the fence against running a step twice.
            Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        _save_positions(incidents)
        # The ledger last: each organization's chain is locked from its first entry until commit,
        # so everything else is done before taking that lock.
        record_many(job="escalation", entries=events)
        publish_incidents_after_commit((incident, verb) for incident, verb, _ in events)
        result.incidents = len(incidents)
        result.notifications = len(rows)
    return result, len(incidents)


def run_escalation_tick(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, time_budget: float = 30.0
) -> TickResult:
    """Run every step that is due at ``now`` (default: the wall clock, re-read per batch).

    Safe to run concurrently and twice: each batch is its own transaction over rows locked with
    SKIP LOCKED, so overlapping ticks split the due incidents between them.
    """
    total = TickResult()
    deadline = time.monotonic() + time_budget
    while True:
        result, claimed = _tick_batch(now or timezone.now(), batch_size)
        total += result
        if claimed < batch_size or time.monotonic() > deadline:
            return total
