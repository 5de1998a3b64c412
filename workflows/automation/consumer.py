"""Reading the ledger by cursor and planning executions: at least once, each action once.

Per organization, one transaction: lock the cursor row (``SKIP LOCKED``: two consumers never read
the same chain at once), read the entries after it, plan one execution per (rule, entry, action)
with ``ON CONFLICT DO NOTHING`` on the idempotency key, advance the cursor, commit. A crash before
the commit rolls back both the executions and the cursor, and the next run reads the same entries
again; an entry read twice plans nothing new, because its keys exist.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.models import LedgerEntry
from workflows.automation import spec
from workflows.automation.matchers import ALL_VERBS, Context, fires
from workflows.automation.models import AutomationCursor, AutomationExecution, AutomationRule, ExecutionState

BATCH = 500


def ensure_cursor(organization_id: int) -> None:
    """Start an organization's cursor at the end of its chain: a first rule reacts to what comes next,
    not to years of history (the backtest is for that)."""
    if AutomationCursor.objects.filter(organization_id=organization_id).exists():
        return
    last = LedgerEntry.objects.filter(organization_id=organization_id).aggregate(last=Max("sequence"))["last"]
    AutomationCursor.objects.get_or_create(organization_id=organization_id, defaults={"sequence": last or 0})


def execution_key(rule, entry, subject, index: int) -> str:
    if rule.once_per_incident and subject.incident_id is not None:
        return f"rule:{rule.pk}:incident:{subject.incident_id}:action:{index}"
    return f"rule:{rule.pk}:entry:{entry.pk}:action:{index}"


def plan(rule, entry, subject, now) -> list[AutomationExecution]:
    rows = []
    for index, action in enumerate(rule.actions):
        risky = bool(action.get("risky"))
        rows.append(
            AutomationExecution(
                organization_id=rule.organization_id,
                rule=rule,
                idempotency_key=execution_key(rule, entry, subject, index),
                entry_id=entry.pk,
                entry_sequence=entry.sequence,
                event_verb=entry.verb,
                event_at=entry.created_at,
                target_type=entry.target_type,
                target_id=entry.target_id,
                incident_id=subject.incident_id,
                action_index=index,
                action=action,
                state=ExecutionState.AWAITING_APPROVAL if risky else ExecutionState.PENDING,
                max_attempts=spec.max_attempts(action),
                next_attempt_at=None if risky else now,
                created_at=now,
            )
        )
    return rows


# What matching reads of an entry (not its hashes): a storm's batch is hundreds of rows.
ENTRY_FIELDS = [
    "id",
    "sequence",
    "verb",
    "target_type",
    "target_id",
    "data",
    "created_at",
    "actor_type",
    "actor_id",
]


def consume_organization(
    organization_id: int, *, limit: int = BATCH, now=None, checkpoint=None
) -> tuple[int, int]:
    """One batch of one organization's chain: (entries read, executions planned).

    The batch's executions go in with one INSERT; ``checkpoint(entry)`` is then called for each entry
    matched, inside the transaction (the tests make it raise to stand for a crash mid-batch).
    """
    now = now or timezone.now()
    with transaction.atomic():
        cursor = (
            AutomationCursor.objects.select_for_update(skip_locked=True)
            .filter(organization_id=organization_id)
            .first()
        )
        if cursor is None:
            return 0, 0
        entries = list(
            LedgerEntry.objects.filter(organization_id=organization_id, sequence__gt=cursor.sequence)
            .only(*ENTRY_FIELDS)
            .order_by("sequence")[:limit]
        )
        if not entries:
            return 0, 0
        rules = list(
            AutomationRule.objects.filter(organization_id=organization_id, enabled=True).order_by("pk")
        )
        relevant = [e for e in entries if e.verb in ALL_VERBS]
        context = Context(organization_id, relevant) if relevant and rules else None
        rows = []
        for entry in relevant if context else ():
            for rule in rules:
                if entry.created_at < rule.created_at:
                    continue  # a rule reacts to what happens after it exists
                subject = fires(rule, entry, context)
                if subject is not None:
                    rows += plan(rule, entry, subject, now)
        # ON CONFLICT DO NOTHING on the idempotency key: an entry read again plans nothing new.
        planned = len(AutomationExecution.objects.bulk_create(rows, ignore_conflicts=True)) if rows else 0
        if checkpoint is not None:
            for entry in relevant if context else ():
                checkpoint(entry)
        cursor.sequence = entries[-1].sequence
        cursor.updated_at = now
        cursor.save(update_fields=["sequence", "updated_at"])
    return len(entries), planned


def consume(*, limit: int = BATCH, now=None, checkpoint=None, deadline: float | None = None) -> int:
    """Every organization with an enabled rule (or a cursor to keep up to date): batches until
    its chain is read or ``deadline`` (a ``time.monotonic()`` value) passes. Executions planned."""
    org_ids = set(
        AutomationRule.objects.filter(enabled=True)
        .values_list("organization_id", flat=True)
        .distinct()
        .order_by()
    ) | set(AutomationCursor.objects.values_list("organization_id", flat=True))
    total = 0
    for organization_id in sorted(org_ids):
        ensure_cursor(organization_id)
        while True:
            read, planned = consume_organization(organization_id, limit=limit, now=now, checkpoint=checkpoint)
            total += planned
            if read < limit or (deadline is not None and time.monotonic() > deadline):
                break
    return total
