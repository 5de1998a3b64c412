"""Running planned executions: claim, act, record. Every step's state is in the execution's row.

* Waiting for approval: open the approval run once; move on when it is APPROVED (due now) or
  REJECTED (finished).
* Due (``pending``/``retrying`` whose ``next_attempt_at`` passed, or ``running`` whose lease ran
  out because its worker died): claimed with ``FOR UPDATE SKIP LOCKED``, ``attempts`` counted and a
  lease set in one short transaction.
* Database actions run in one transaction with the row re-locked and fenced by its attempt number,
  so the change and "succeeded" commit together or not at all. HTTP actions run after the claim's
  commit (no transaction held over the network); their outcome is recorded after, fenced the same way.
* A failed HTTP attempt is retried with exponential backoff until ``max_attempts``; then the
  execution fails, and a remediation hook escalates the incident.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import record
from workflows.automation import actions, approvals, spec
from workflows.automation.actions import Skip
from workflows.automation.models import AutomationExecution, ExecutionState

logger = logging.getLogger(__name__)

BATCH = 200
# Longer than the longest HTTP attempt (OUTBOUND_TOTAL_TIMEOUT) plus the recording.
LEASE = timedelta(minutes=2)
MAX_BACKOFF = 3600
S = ExecutionState


def backoff(action: dict, attempts: int) -> timedelta:
    base = action.get("backoff_seconds", 30)
    return timedelta(seconds=min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1)))


def _record(execution, verb: str) -> None:
    record(
        actor=actions.actor_for(execution.rule),
        verb=verb,
        target=execution.rule,
        data={
            "execution": execution.pk,
            "action": execution.action_type,
            "state": execution.state,
            "attempts": execution.attempts,
            "event": execution.entry_id,
            "incident": execution.incident_id,
            "error": execution.last_error,
            "outcome": execution.outcome,
        },
    )


def _finish(execution, state, now, *, error: str = "", outcome: dict | None = None) -> None:
    execution.state = state
    execution.finished_at = now
    execution.next_attempt_at = None
    execution.last_error = error[:300]
    if outcome is not None:
        execution.outcome = {**execution.outcome, **outcome}
    execution.save(update_fields=["state", "finished_at", "next_attempt_at", "last_error", "outcome"])
    _record(execution, f"automation.execution.{state}")


def _locked(execution_id, attempt):
    """The execution, locked, if this worker's claim still holds (else another took it over)."""
    row = (
        AutomationExecution.objects.select_for_update(of=("self",))
        .select_related("rule__organization", "incident__service")
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


def claim(now, limit: int = BATCH) -> list[tuple[int, int]]:
    with transaction.atomic():
        rows = list(
            AutomationExecution.objects.select_for_update(skip_locked=True)
            .filter(state__in=[S.PENDING, S.RETRYING, S.RUNNING], next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        for row in rows:
            row.state = S.RUNNING
            row.attempts += 1
            row.next_attempt_at = now + LEASE  # another tick takes it over only if this one died
        AutomationExecution.objects.bulk_update(rows, ["state", "attempts", "next_attempt_at"])
    return [(row.pk, row.attempts) for row in rows]


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
        AutomationExecution.objects.select_related("rule__organization", "incident__service")
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
    now = now or timezone.now()
    action_type = (
        AutomationExecution.objects.filter(pk=execution_id).values_list("action__type", flat=True).first()
    )
    if action_type in spec.HTTP_ACTIONS:
        return _run_http_action(execution_id, attempt, now)
    return _run_database_action(execution_id, attempt, now)


def run_due(now=None, limit: int = BATCH, deadline: float | None = None) -> dict:
    """Advance approvals, then run due executions, batch after batch while batches come back full
    and ``deadline`` (a ``time.monotonic()`` value) has not passed; each row's failure is its own."""
    fixed = now
    counts = {"approvals": advance_approvals(now or timezone.now(), limit)}
    while True:
        claimed = claim(fixed or timezone.now(), limit)
        for execution_id, attempt in claimed:
            try:
                state = execute(execution_id, attempt, fixed)
            except Exception:  # one bad row never stops the batch; its lease brings it back
                logger.exception("automation execution %s failed unexpectedly", execution_id)
                state = "error"
            counts[state or "fenced"] = counts.get(state or "fenced", 0) + 1
        if len(claimed) < limit or deadline is None or time.monotonic() > deadline:
            return counts
