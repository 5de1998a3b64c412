"""On-call and notifications: the escalation tick. Claims due incidents, works out their current
steps, then writes the steps, positions and timers and records them, one transaction per batch (see
the package docstring for the position, the timer and the fencing). The steps are worked out with
no incident row locked, and written only for the incidents nobody changed meanwhile (``claims``).
Within the batch each incident's step is its own unit, so one that fails is retried on its own
(``failures``) and the others commit.

A step usually runs no statement at all (the batch's reads are preloaded), so it runs without a
savepoint: a savepoint and its release are two round trips per incident, for nothing. A step that
fails before any statement left nothing to undo. Only when one fails after a statement (the
transaction may be aborted, and what it wrote must go) is the batch rolled back and run again with a
savepoint around each step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.services import record_many
from incidents.models import Incident, Status
from incidents.realtime import publish_incidents_after_commit
from notifications.escalation import claims, failures
from notifications.escalation.targets import BatchReads, rows_for_step
from notifications.models import Notification
from opsplatform.core.prepared import insert_rows

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


def _advance(
    incident: Incident, ctx: BatchReads, rows: list[Notification], events: list, *, skip: bool = False
) -> int:
    """Run what is due for one claimed incident; returns the number of steps run (0 or 1).

    ``skip``: the step now due has failed its last attempt (see ``failures``); move past it without
    paging anyone, to the next step at once. Ledger entries are collected in ``events`` and written
    at the end of the batch (see _tick_batch).
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
    step = plan.steps[index]
    if skip:
        summary = {
            "policy": plan.policy.name,
            "policy_id": plan.policy.pk,
            "step": index + 1,
            "cycle": cycle + 1,
        }
        delay = timedelta(0)
    else:
        new_rows, summary = rows_for_step(incident, plan, index, cycle, ctx)
        rows.extend(new_rows)
        delay = timedelta(minutes=step.delay_minutes)
    if manual_after_end:
        _clear(incident)
    else:
        incident.escalation_step = index + 1
        incident.escalation_cycle = cycle
        incident.next_escalation_at = ctx.now + delay
    summary["next_at"] = incident.next_escalation_at.isoformat() if incident.next_escalation_at else None
    if skip:
        failures.skipped(incident, summary, events)
        return 0
    events.append((incident, "escalation.step_executed", summary))
    return 1


@dataclass
class _Work:
    """One incident's part of a batch: its outbox rows and ledger entries, and the position it had
    when claimed (put back if its part fails)."""

    incident: Incident
    position: tuple
    rows: list[Notification] = field(default_factory=list)
    events: list = field(default_factory=list)
    steps: int = 0

    def restore(self) -> None:
        incident = self.incident
        incident.next_escalation_at, incident.escalation_step, incident.escalation_cycle = self.position


class _RunAgainWithSavepoints(Exception):
    """A step failed after it ran a statement: the batch is rolled back and run again, each step in
    a savepoint of its own."""


class _Statements:
    """Counts the statements run on the connection while installed (``execute_wrapper``)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _aborted() -> bool:
    """Whether the transaction is in error, whatever ran the failed statement (also a cursor of its
    own, which ``execute_wrapper`` does not see)."""
    raw = connection.connection
    return raw is not None and raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR


def _prepare(
    incident: Incident, ctx: BatchReads, *, skip: bool = False, savepoint: bool = True
) -> tuple[_Work, Exception | None]:
    """Run ``incident``'s step. In a savepoint of its own: a failed query inside leaves the batch's
    transaction usable, and what the step wrote (the round-robin position) is undone with it.
    Without one (``savepoint=False``), a step that fails after running a statement raises
    ``_RunAgainWithSavepoints``; one that fails before any has nothing to undo."""
    work = _Work(incident, (incident.next_escalation_at, incident.escalation_step, incident.escalation_cycle))
    statements = _Statements()
    try:
        if savepoint:
            with transaction.atomic():
                work.steps = _advance(incident, ctx, work.rows, work.events, skip=skip)
        else:
            with connection.execute_wrapper(statements):
                work.steps = _advance(incident, ctx, work.rows, work.events, skip=skip)
    except Exception as exc:  # any failure of one incident stays with that incident
        work.restore()
        if not savepoint and (statements.count or _aborted()):
            raise _RunAgainWithSavepoints from exc
        return work, exc
    return work, None


def _insert(rows: list[Notification]) -> None:
    if rows:
        written = timezone.now()
        for row in rows:
            row.created_at = row.updated_at = written
        # ON CONFLICT DO NOTHING on the idempotency key: the fence against running a step twice.
        # Written as ``bulk_create`` would, with the values bound on the server.
        insert_rows(Notification, rows, "ON CONFLICT DO NOTHING")


def _write(works: list[_Work]) -> list[tuple[_Work, Exception]]:
    """Save the outbox rows and positions of ``works``: in one go, and when the database refuses
    that (one incident's row it will not store), incident by incident. Returns those refused."""
    if not works:
        return []
    if len(works) > 1:
        try:
            with transaction.atomic():
                _insert([row for work in works for row in work.rows])
                _save_positions([work.incident for work in works])
            return []
        except DatabaseError:
            pass  # one at a time below, to find the incident whose row it refused
    refused = []
    for work in works:
        try:
            with transaction.atomic():
                _insert(work.rows)
                _save_positions([work.incident])
        except DatabaseError as exc:
            work.restore()
            refused.append((work, exc))
    return refused


def _failed(work: _Work, exc: Exception, ctx: BatchReads, events: list) -> None:
    """Retry ``work``'s incident later, move it past the failing step, or park it (``failures``)."""
    incident = work.incident
    if not failures.step_failed(incident, exc, ctx.now, events):
        return
    moved, error = _prepare(incident, ctx, skip=True)
    if error is not None:
        failures.park(incident, error, events)
        return
    events.extend(moved.events)


def _save_positions(incidents: list[Incident]) -> None:
    """One UPDATE … FROM (VALUES …) for the batch (Django's bulk_update builds a CASE per column,
    several times slower at a few hundred rows)."""
    if not incidents:
        return
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
    try:
        return _run_batch(now, batch_size, savepoints=False)
    except _RunAgainWithSavepoints:
        return _run_batch(now, batch_size, savepoints=True)


def _run_batch(now: datetime, batch_size: int, *, savepoints: bool) -> tuple[TickResult, int]:
    result = TickResult()
    with claims.claimed(now, batch_size) as (incidents, claimed):
        if not incidents:
            return result, claimed
        # The steps are worked out with no incident row locked (see ``claims``): in a transaction
        # of reads, and the round-robin positions the steps take.
        with transaction.atomic():
            ctx = BatchReads(now=now)
            ctx.preload(incidents)
            # Each incident is its own unit: one whose step fails is retried later, and every
            # other incident of the batch is paged (once: its rows carry their idempotency keys)
            # and moves on.
            prepared = [_prepare(incident, ctx, savepoint=savepoints) for incident in incidents]
        # What no one else holds now is written at once; the rest (an incident a repeat is being
        # counted on, one being acknowledged) after, waiting for those alone.
        left = _write_batch(prepared, ctx, result, wait=False)
        if left:
            _write_batch(left, ctx, result, wait=True)
    return result, claimed


def _write_batch(prepared: list, ctx: BatchReads, result: TickResult, *, wait: bool) -> list:
    """Write the steps of ``prepared`` ((work, error) pairs) whose incidents are still as read, in
    one transaction; adds them to ``result``. Without ``wait``, incidents another transaction holds
    are left out, and returned."""
    with transaction.atomic():
        current, held = claims.lock_unchanged(
            [(work.incident, work.position) for work, _ in prepared], skip_locked=not wait
        )
        done, failed = [], []
        for work, error in prepared:
            if work.incident.pk in current:
                (done if error is None else failed).append((work, error))
        failed += _write([work for work, _ in done])
        refused = {id(work) for work, _ in failed}
        done = [work for work, _ in done if id(work) not in refused]
        events = [event for work in done for event in work.events]
        for work, error in failed:
            _failed(work, error, ctx, events)
        _save_positions([work.incident for work, _ in failed])
        # The ledger last: each organization's chain is locked from its first entry until commit,
        # so everything else is done before taking that lock.
        record_many(job="escalation", entries=events)
        publish_incidents_after_commit((incident, verb) for incident, verb, _ in events)
        result.incidents += len(current)
        result.steps += sum(work.steps for work in done)
        result.notifications += sum(len(work.rows) for work in done)
    return [(work, error) for work, error in prepared if work.incident.pk in held]


def run_escalation_tick(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE, time_budget: float = 30.0
) -> TickResult:
    """Run every step that is due at ``now`` (default: the wall clock, re-read per batch).

    Safe to run concurrently and twice: overlapping ticks claim different incidents (``claims``),
    and a step is written only for an incident still as it was read.
    """
    total = TickResult()
    deadline = time.monotonic() + time_budget
    while True:
        result, claimed = _tick_batch(now or timezone.now(), batch_size)
        total += result
        if claimed < batch_size or time.monotonic() > deadline:
            return total
