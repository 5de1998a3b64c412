"""Running planned executions: claim, act, record. Every step's state is in the execution's row.

* Waiting for approval: open the approval run once; move on when it is APPROVED (due now) or
  REJECTED (finished).
* Due (``pending``/``retrying`` whose ``next_attempt_at`` passed, or ``running`` whose lease ran
  out because its worker died): claimed with ``FOR UPDATE SKIP LOCKED``, ``attempts`` counted and a
  lease set in one short transaction.
* Database actions of one organization run together, a chunk to a transaction (``chunks``); should
  the chunk's transaction fail as a whole, each of its actions runs again alone, in a transaction of
  its own. The row's lock, final state and ledger entry are ``executions``'.
* HTTP actions run after the claim's commit (no transaction held over the network); their outcome
  is recorded after, fenced the same way.
* A failed HTTP attempt is retried with exponential backoff until ``max_attempts``; then the
  execution fails, and a remediation hook escalates the incident.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from workflows.automation import actions, approvals, spec
from workflows.automation.actions import Skip
from workflows.automation.chunks import CHUNK, database_chunk
from workflows.automation.executions import RELATED, S, backoff, finish, locked, message, record_execution
from workflows.automation.models import AutomationExecution

logger = logging.getLogger(__name__)

BATCH = 200
# Longer than the longest HTTP attempt (OUTBOUND_TOTAL_TIMEOUT) plus the recording.
LEASE = timedelta(minutes=2)


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
                    finish(execution, S.FAILED, now, error=f"Cannot request approval: {exc}")
                    continue
                execution.save(update_fields=["approval_run"])
                record_execution(execution, "automation.execution.approval_requested")
            elif run.state == approvals.APPROVED:
                execution.state, execution.next_attempt_at = S.PENDING, now
                execution.outcome = {**execution.outcome, "approval_run": run.pk}
                execution.save(update_fields=["state", "next_attempt_at", "outcome"])
                moved += 1
            elif run.spec.is_terminal(run.state):
                finish(execution, S.REJECTED, now, outcome={"approval_run": run.pk})
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
        execution = locked(execution_id, attempt)
        if execution is None:
            return None
        try:
            with transaction.atomic():
                outcome = actions.perform(execution)
        except Skip as exc:
            finish(execution, S.SKIPPED, now, error=str(exc))
        except Exception as exc:  # a refused change (closed incident, bad key): recorded, not retried
            finish(execution, S.FAILED, now, error=message(exc))
        else:
            finish(execution, S.SUCCEEDED, now, outcome=outcome)
        return execution.state


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
            if (execution := locked(execution_id, attempt)) is not None:
                finish(execution, S.SKIPPED, now, error=str(exc))
        return S.SKIPPED
    result = actions.call(execution, url)
    done = timezone.now()
    with transaction.atomic():
        execution = locked(execution_id, attempt)
        if execution is None:
            return None
        history = [*execution.outcome.get("responses", []), result.status]
        if result.ok:
            finish(execution, S.SUCCEEDED, done, outcome={"responses": history})
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
                    outcome["escalation_error"] = message(exc)[:200]
            finish(execution, S.FAILED, done, error=result.error, outcome=outcome)
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
                finished, alone, later = database_chunk(chunk, now)
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
