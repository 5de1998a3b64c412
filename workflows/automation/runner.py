"""Running planned executions: claim, act, record. Every step's state is in the execution's row.

* Waiting for approval: open the approval run once; move on when it is APPROVED (due now) or
  REJECTED (finished).
* Due (``pending``/``retrying`` whose ``next_attempt_at`` passed, or ``running`` whose lease ran
  out because its worker died): claimed with ``FOR UPDATE SKIP LOCKED``, ``attempts`` counted and a
  lease set in one short transaction.
* Database actions of one organization run together, a chunk to a transaction: the rows re-locked
  and fenced by their attempt numbers, the actions run one after another without savepoints; if one
  raises, the transaction is rolled back and the chunk runs again with each action in a savepoint of
  its own (one that fails rolls back alone and is recorded as failed). Their outcomes are written
  with one UPDATE, their ledger entries
  appended together at the end and the realtime pushes of the lot sent in one trip after commit. An
  action's change and its "succeeded" commit together or not at all. Should the chunk's transaction
  fail as a whole, each of its actions runs again alone, in a transaction of its own.
* HTTP actions run after the claim's commit (no transaction held over the network); their outcome
  is recorded after, fenced the same way.
* A failed HTTP attempt is retried with exponential backoff until ``max_attempts``; then the
  execution fails, and a remediation hook escalates the incident.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter, defaultdict
from datetime import timedelta

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from audit.services import record, record_many
from incidents.models import Incident
from opsplatform.core import memo
from opsplatform.realtime.groups import one_trip
from workflows.automation import actions, approvals, spec
from workflows.automation.actions import Skip
from workflows.automation.models import AutomationExecution, ExecutionState

logger = logging.getLogger(__name__)

BATCH = 200
# Database actions of one organization per transaction: at most CHUNK of them, and none started
# after CHUNK_SECONDS. From its first ledger entry the transaction holds the organization's chain
# until commit, so every other writer of that organization (new incidents included) waits for the
# chunk: short enough to keep that wait small on a loaded machine, long enough to share the commit,
# the ledger append and the realtime trip among many actions.
CHUNK = 50
CHUNK_SECONDS = 0.1
# Longer than the longest HTTP attempt (OUTBOUND_TOTAL_TIMEOUT) plus the recording.
LEASE = timedelta(minutes=2)
MAX_BACKOFF = 3600
S = ExecutionState


def backoff(action: dict, attempts: int) -> timedelta:
    base = action.get("backoff_seconds", 30)
    return timedelta(seconds=min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1)))


FINISH_FIELDS = ["state", "finished_at", "next_attempt_at", "last_error", "outcome"]


def _entry_data(execution) -> dict:
    return {
        "execution": execution.pk,
        "action": execution.action_type,
        "state": execution.state,
        "attempts": execution.attempts,
        "event": execution.entry_id,
        "incident": execution.incident_id,
        "error": execution.last_error,
        "outcome": execution.outcome,
    }


def _record(execution, verb: str) -> None:
    record(
        actor=actions.actor_for(execution.rule), verb=verb, target=execution.rule, data=_entry_data(execution)
    )


def _settle(execution, state, now, *, error: str = "", outcome: dict | None = None) -> None:
    """The row's final state, in memory: the caller writes it."""
    execution.state = state
    execution.finished_at = now
    execution.next_attempt_at = None
    execution.last_error = error[:300]
    if outcome is not None:
        execution.outcome = {**execution.outcome, **outcome}


def _finish(execution, state, now, *, error: str = "", outcome: dict | None = None) -> None:
    _settle(execution, state, now, error=error, outcome=outcome)
    execution.save(update_fields=FINISH_FIELDS)
    _record(execution, f"automation.execution.{state}")


# Everything an action reads of its execution, in the one query that locks it.
RELATED = ("rule__organization", "incident__organization", "incident__service")


def _locked(execution_id, attempt):
    """The execution, locked, if this worker's claim still holds (else another took it over)."""
    row = (
        AutomationExecution.objects.select_for_update(of=("self",))
        .select_related(*RELATED)
        .filter(pk=execution_id)
        .first()
    )
    if row is None or row.state != S.RUNNING or row.attempts != attempt:
        return None
    return row


def advance_approvals(now, limit: int = BATCH) -> int:
    moved = 0
    waiting = list(
        AutomationExecution.objects.filter(state=S.AWAITING_APPROVAL)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for execution_id in waiting:
        with transaction.atomic():
            execution = (
                AutomationExecution.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("rule__organization", "rule__created_by", "incident", "approval_run")
                .filter(pk=execution_id, state=S.AWAITING_APPROVAL)
                .first()
            )
            if execution is None:
                continue
            run = execution.approval_run
            if run is None:
                try:
                    execution.approval_run = approvals.request_approval(execution)
                except Exception as exc:  # the rule cannot be approved as written: say so on the row
                    logger.warning("automation approval for execution %s failed: %s", execution.pk, exc)
                    _finish(execution, S.FAILED, now, error=f"Cannot request approval: {exc}")
                    continue
                execution.save(update_fields=["approval_run"])
                _record(execution, "automation.execution.approval_requested")
            elif run.state == approvals.APPROVED:
                execution.state, execution.next_attempt_at = S.PENDING, now
                execution.outcome = {**execution.outcome, "approval_run": run.pk}
                execution.save(update_fields=["state", "next_attempt_at", "outcome"])
                moved += 1
            elif run.spec.is_terminal(run.state):
                _finish(execution, S.REJECTED, now, outcome={"approval_run": run.pk})
                moved += 1
    return moved


# One statement: pick the due rows nobody holds, count the attempt and set the lease. The lease is
# why a row another tick holds is not due: that tick takes it over only once this one died.
_CLAIM_SQL = """
UPDATE {table} SET state = %s, attempts = attempts + 1, next_attempt_at = %s
WHERE id IN (
    SELECT id FROM {table}
    WHERE state IN (%s, %s, %s) AND next_attempt_at <= %s
    ORDER BY next_attempt_at, id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, attempts
"""


def claim(now, limit: int = BATCH) -> list[tuple[int, int]]:
    """Due executions for this worker: ``(id, attempt)`` pairs in id order."""
    sql = _CLAIM_SQL.format(table=AutomationExecution._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [S.RUNNING, now + LEASE, S.PENDING, S.RETRYING, S.RUNNING, now, limit])
        return sorted(cursor.fetchall())


def _run_database_action(execution_id, attempt, now) -> str | None:
    with transaction.atomic():
        execution = _locked(execution_id, attempt)
        if execution is None:
            return None
        try:
            with transaction.atomic():
                outcome = actions.perform(execution)
        except Skip as exc:
            _finish(execution, S.SKIPPED, now, error=str(exc))
        except Exception as exc:  # a refused change (closed incident, bad key): recorded, not retried
            _finish(execution, S.FAILED, now, error=_message(exc))
        else:
            _finish(execution, S.SUCCEEDED, now, outcome=outcome)
        return execution.state


def _message(exc) -> str:
    messages = getattr(exc, "messages", None)
    return " ".join(messages) if messages else f"{type(exc).__name__}: {exc}"


def _run_http_action(execution_id, attempt, now) -> str | None:
    execution = (
        AutomationExecution.objects.select_related(*RELATED)
        .filter(pk=execution_id, state=S.RUNNING, attempts=attempt)
        .first()
    )
    if execution is None:
        return None
    try:
        url = actions.hook_url(execution)
    except Skip as exc:
        with transaction.atomic():
            if (execution := _locked(execution_id, attempt)) is not None:
                _finish(execution, S.SKIPPED, now, error=str(exc))
        return S.SKIPPED
    result = actions.call(execution, url)
    done = timezone.now()
    with transaction.atomic():
        execution = _locked(execution_id, attempt)
        if execution is None:
            return None
        history = [*execution.outcome.get("responses", []), result.status]
        if result.ok:
            _finish(execution, S.SUCCEEDED, done, outcome={"responses": history})
        elif execution.attempts < execution.max_attempts:
            execution.state = S.RETRYING
            execution.next_attempt_at = done + backoff(execution.action, execution.attempts)
            execution.last_error = result.error[:300]
            execution.outcome = {**execution.outcome, "responses": history}
            execution.save(update_fields=["state", "next_attempt_at", "last_error", "outcome"])
        else:
            outcome = {"responses": history}
            if execution.action_type == "remediate" and execution.action.get("escalate", True):
                try:
                    with transaction.atomic():
                        outcome.update(actions.escalate_after_remediation(execution))
                except Exception as exc:  # the incident may be closed by now: keep the failure visible
                    outcome["escalation_error"] = _message(exc)[:200]
            _finish(execution, S.FAILED, done, error=result.error, outcome=outcome)
        return execution.state


def execute(execution_id: int, attempt: int, now=None) -> str | None:
    """One claimed execution, alone in its transaction(s)."""
    now = now or timezone.now()
    action_type = (
        AutomationExecution.objects.filter(pk=execution_id).values_list("action__type", flat=True).first()
    )
    if action_type in spec.HTTP_ACTIONS:
        return _run_http_action(execution_id, attempt, now)
    return _run_database_action(execution_id, attempt, now)


class _Unsettled(Exception):
    """An action of a chunk run without savepoints raised: the chunk's transaction is rolled back
    and the chunk run again, each action in a savepoint of its own."""


def _database_chunk(chunk: list[tuple[int, int]], now=None) -> tuple[list, list, list]:
    """Run ``(execution id, attempt)`` pairs of one organization in one transaction, until
    ``CHUNK_SECONDS`` have passed: (the rows finished, the pairs to run alone after it, the pairs
    not started, for the next chunk).

    First without a savepoint per action (two round trips each, for nothing when every action
    succeeds); if one raises, the transaction is rolled back whole and the chunk runs again with
    savepoints, so the failing action rolls back alone and is recorded as failed."""
    try:
        return _run_chunk(chunk, now, savepoints=False)
    except _Unsettled:
        return _run_chunk(chunk, now, savepoints=True)


def _run_chunk(chunk, now, *, savepoints: bool) -> tuple[list, list, list]:
    attempt_of = dict(chunk)
    finished, alone, later = [], [], []
    stop_at = time.monotonic() + CHUNK_SECONDS
    # One transaction, one trip for its pushes, and the reads its actions repeat made once.
    with transaction.atomic(), one_trip(), memo.scope():
        rows = [
            row
            for row in AutomationExecution.objects.select_for_update(of=("self",))
            .select_related(*RELATED)
            .filter(pk__in=attempt_of, state=S.RUNNING)
            .order_by("pk")
            if row.attempts == attempt_of[row.pk]  # else another worker took it over
        ]
        _lock_incidents(rows)
        for index, row in enumerate(rows):
            if index and time.monotonic() > stop_at:
                later = [(r.pk, r.attempts) for r in rows[index:]]
                break
            if not savepoints:
                try:
                    outcome = actions.perform(row)
                except Exception as exc:
                    raise _Unsettled from exc
                _settle(row, S.SUCCEEDED, None, outcome=outcome)
                finished.append(row)
                continue
            try:
                with transaction.atomic():
                    outcome = actions.perform(row)
            except Skip as exc:
                _settle(row, S.SKIPPED, None, error=str(exc))
            except OperationalError:  # a deadlock or lost lock, not the action's fault: alone, below
                alone.append((row.pk, row.attempts))
                continue
            except Exception as exc:  # a refused change (closed incident, bad key): recorded, not retried
                _settle(row, S.FAILED, None, error=_message(exc))
            else:
                _settle(row, S.SUCCEEDED, None, outcome=outcome)
            finished.append(row)
        done = now or timezone.now()  # the chunk's work is done; what is left is writing it down
        for row in finished:
            row.finished_at = done
        _write_finished(finished, done)
        _record_finished(finished)
    return finished, alone, later


# Actions that only add rows pointing at their incident (a task, a notice, a run): the incident must stay,
# not stay unchanged, so they hold it FOR KEY SHARE, as their rows' foreign keys would. Ingestion's
# locks (FOR NO KEY UPDATE) do not wait for that; with FOR UPDATE every repeat of a new incident's
# alert waited for the chunk that added its task, which runs at the general worker's lower priority.
POINTING_ACTIONS = frozenset({"create_task", "notify", "start_workflow"})
_LOCK_SQL = "SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR {mode}"


def _lock_incidents(rows) -> None:
    """The chunk's incidents, locked up front in id order (FOR UPDATE where an action changes it,
    FOR KEY SHARE where they only point at it). Up front: past its first ledger entry the chunk may
    hold the organization's chain, which anyone holding an incident's lock may wait for next, so an
    incident locked after it could close a cycle. In id order: whoever holds one incident and waits
    for another took them in the same order."""
    changing = {r.incident_id for r in rows if r.incident_id and r.action_type not in POINTING_ACTIONS}
    ids = sorted({r.incident_id for r in rows if r.incident_id is not None})
    table = Incident._meta.db_table
    with connection.cursor() as cursor:
        for changes, run in itertools.groupby(ids, key=lambda pk: pk in changing):
            mode = "UPDATE" if changes else "KEY SHARE"
            cursor.execute(_LOCK_SQL.format(table=table, mode=mode), [list(run)])


# The chunk's outcomes in one statement (a CASE per field and row, as bulk_update writes it, costs
# more to build than the actions it records).
_FINISH_SQL = """
UPDATE {table} AS e
SET state = v.state, finished_at = %s, next_attempt_at = NULL, last_error = v.last_error,
    outcome = v.outcome::jsonb
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS v(id, state, last_error, outcome)
WHERE e.id = v.id
"""


def _write_finished(rows, done) -> None:
    if not rows:
        return
    sql = _FINISH_SQL.format(table=AutomationExecution._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                done,
                [row.pk for row in rows],
                [str(row.state) for row in rows],
                [row.last_error for row in rows],
                [json.dumps(row.outcome) for row in rows],
            ],
        )


def _record_finished(rows) -> None:
    """The rows' ledger entries, appended together last in the transaction (each as its rule's
    system actor, as ``_record`` writes them)."""
    by_rule = defaultdict(list)
    for row in rows:
        by_rule[row.rule_id].append(row)
    for rule_rows in by_rule.values():
        rule = rule_rows[0].rule
        record_many(
            job=actions.actor_for(rule).job,
            entries=[(rule, f"automation.execution.{row.state}", _entry_data(row)) for row in rule_rows],
        )


def _alone(run, execution_id, attempt, now) -> str:
    try:
        return run(execution_id, attempt, now or timezone.now()) or "fenced"
    except Exception:  # one bad row never stops the batch; its lease brings it back
        logger.exception("automation execution %s failed unexpectedly", execution_id)
        return "error"


def run_claimed(claimed: list[tuple[int, int]], now=None) -> Counter:
    """Run what ``claim`` returned: database actions by organization in chunks, then HTTP actions
    one by one. Counts by outcome (``fenced``: another worker took the row over)."""
    counts = Counter()
    attempt_of = dict(claimed)
    http, by_organization = [], defaultdict(list)
    kinds = AutomationExecution.objects.filter(pk__in=attempt_of).values_list(
        "pk", "organization_id", "action__type"
    )
    for pk, organization_id, action_type in kinds:
        if action_type in spec.HTTP_ACTIONS:
            http.append(pk)
        else:
            by_organization[organization_id].append(pk)
    for organization_id in sorted(by_organization):
        waiting = [(pk, attempt_of[pk]) for pk in sorted(by_organization[organization_id])]
        while waiting:
            chunk, waiting = waiting[:CHUNK], waiting[CHUNK:]
            try:
                finished, alone, later = _database_chunk(chunk, now)
            except Exception:  # the transaction failed as a whole: nothing of it stuck; each alone
                logger.exception("automation chunk of %s executions failed; running them alone", len(chunk))
                finished, alone, later = [], chunk, []
            counts.update(row.state for row in finished)
            fenced = len(chunk) - len(finished) - len(alone) - len(later)
            if fenced:
                counts["fenced"] += fenced
            for execution_id, attempt in alone:
                counts[_alone(_run_database_action, execution_id, attempt, now)] += 1
            waiting = later + waiting
    for pk in sorted(http):
        counts[_alone(_run_http_action, pk, attempt_of[pk], now)] += 1
    return counts


def run_due(now=None, limit: int = BATCH, deadline: float | None = None) -> dict:
    """Advance approvals, then run due executions, batch after batch while batches come back full
    and ``deadline`` (a ``time.monotonic()`` value) has not passed; each row's failure is its own."""
    counts = Counter({"approvals": advance_approvals(now or timezone.now(), limit)})
    counts.update(run_batches(now=now, limit=limit, deadline=deadline))
    return dict(counts)


def run_batches(now=None, limit: int = BATCH, deadline: float | None = None) -> Counter:
    """Claim and run due executions while batches come back full and ``deadline`` has not passed."""
    counts = Counter()
    while True:
        claimed = claim(now or timezone.now(), limit)
        counts.update(run_claimed(claimed, now))
        if len(claimed) < limit or deadline is None or time.monotonic() > deadline:
            return counts
