"""One automation execution's row: its lock under this worker's claim, its final state, and the
ledger entry that says what became of it. Shared by the runner (``runner``) and its chunks
(``chunks``)."""

from __future__ import annotations

from datetime import timedelta

from audit.services import record
from workflows.automation import actions
from workflows.automation.models import AutomationExecution, ExecutionState
from workflows.automation.spec import MAX_BACKOFF

S = ExecutionState


def backoff(action: dict, attempts: int) -> timedelta:
    base = action.get("backoff_seconds", 30)
    return timedelta(seconds=min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1)))


FINISH_FIELDS = ["state", "finished_at", "next_attempt_at", "last_error", "outcome"]


def entry_data(execution) -> dict:
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


def record_execution(execution, verb: str) -> None:
    record(
        actor=actions.actor_for(execution.rule), verb=verb, target=execution.rule, data=entry_data(execution)
    )


def settle(execution, state, now, *, error: str = "", outcome: dict | None = None) -> None:
    """The row's final state, in memory: the caller writes it."""
    execution.state = state
    execution.finished_at = now
    execution.next_attempt_at = None
    execution.last_error = error[:300]
    if outcome is not None:
        execution.outcome = {**execution.outcome, **outcome}


def finish(execution, state, now, *, error: str = "", outcome: dict | None = None) -> None:
    settle(execution, state, now, error=error, outcome=outcome)
    execution.save(update_fields=FINISH_FIELDS)
    record_execution(execution, f"automation.execution.{state}")


# Everything an action reads of its execution, in the one query that locks it.
RELATED = ("rule__organization", "incident__organization", "incident__service")


def locked(execution_id, attempt):
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


def message(exc) -> str:
    messages = getattr(exc, "messages", None)
    return " ".join(messages) if messages else f"{type(exc).__name__}: {exc}"
