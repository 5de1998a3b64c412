"""The workflows beat ticks. Each claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and clears
the due-time column it acted on in the same transaction, so a tick that runs twice (or two ticks at
once) acts on each row exactly once: the second skips the locked row, and later finds it no longer due.
"""

import logging
import zlib
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.models import LedgerEntry
from audit.services import record_many
from incidents.models import Incident
from opsplatform.core.actors import Actor
from workflows.builtins import INCIDENT_PLAYBOOK, PLAYBOOK_SEVERITIES
from workflows.models import (
    ACTIVE_TASK_STATUSES,
    ApprovalRequest,
    ApprovalStatus,
    NoticeKind,
    Task,
    WorkflowDefinition,
    WorkflowRun,
)
from workflows.realtime import publish_run, publish_task
from workflows.services import notices, people
from workflows.services.runs import runs_create_for_incidents

logger = logging.getLogger(__name__)

BATCH = 200
APPROVALS_JOB = "workflows.approvals_tick"
TASKS_JOB = "workflows.tasks_overdue_tick"
PLAYBOOK_JOB = "workflows.playbook_tick"
# How far back the playbook trigger looks: the ledger is read by time, not by id, because ids are
# handed out before commit (a slow transaction can commit an older id after a newer one was seen).
PLAYBOOK_LOOKBACK = timedelta(minutes=15)
# New incidents' playbook runs started in one transaction (one statement each for the runs, their
# tasks and their ledger entries).
PLAYBOOK_BATCH = 50
PLAYBOOK_LOCK_NAMESPACE = zlib.crc32(b"opsplatform.workflows.playbook") & 0x7FFFFFFF


def _claim(queryset, limit):
    return list(queryset.select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:limit])


def _undecided(request) -> list[int]:
    decided = set(request.decisions.values_list("approver_id", flat=True))
    return [uid for uid in request.approver_ids if uid not in decided]


def run_approvals_tick(now=None, limit: int = BATCH) -> dict:
    """Remind the approvers who have not decided (once), then, after the gate's timeout, add the
    fallback approver and tell them (once)."""
    now = now or timezone.now()
    reminded = escalated = 0
    with transaction.atomic():
        due = _claim(
            ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, remind_at__lte=now).select_related(
                "run", "organization"
            ),
            limit,
        )
        entries = []
        for request in due:
            waiting = _undecided(request)
            notices.enqueue(
                organization_id=request.organization_id,
                kind=NoticeKind.APPROVAL_REMINDER,
                recipients=waiting,
                key=f"approval:{request.pk}:reminder",
                approval=request,
            )
            request.remind_at, request.reminded_at = None, now
            request.save(update_fields=["remind_at", "reminded_at"])
            entries.append(
                (request.run, "workflow.approval.reminded", {"approval": request.pk, "reminded": waiting})
            )
        record_many(job=APPROVALS_JOB, entries=entries)
        reminded = len(due)
    with transaction.atomic():
        due = _claim(
            ApprovalRequest.objects.filter(
                status=ApprovalStatus.PENDING, escalate_at__lte=now
            ).select_related("run__version__definition", "organization"),
            limit,
        )
        entries = []
        for request in due:
            gated = request.run.spec.transition(request.state, request.event)
            fallback = people.resolve(request.organization, gated.gate.fallback, at=now) - {
                request.requester_id
            }
            added = sorted(fallback - set(request.approver_ids))
            request.approver_ids = [*request.approver_ids, *added]
            request.escalate_at, request.escalated_at = None, now
            # A reminder not yet sent is pointless once the request has escalated.
            request.remind_at = None
            request.save(update_fields=["approver_ids", "escalate_at", "escalated_at", "remind_at"])
            notices.enqueue(
                organization_id=request.organization_id,
                kind=NoticeKind.APPROVAL_ESCALATED,
                recipients=sorted(fallback),
                key=f"approval:{request.pk}:escalated",
                approval=request,
            )
            entries.append(
                (
                    request.run,
                    "workflow.approval.escalated",
                    {"approval": request.pk, "fallback": sorted(fallback), "added": added},
                )
            )
            publish_run(request.run, "workflow.approval.escalated")
        record_many(job=APPROVALS_JOB, entries=entries)
        escalated = len(due)
    return {"reminded": reminded, "escalated": escalated}


def run_tasks_overdue_tick(now=None, limit: int = BATCH) -> int:
    """Mark each task whose due time passed as overdue and tell its assignee, once per due time."""
    now = now or timezone.now()
    with transaction.atomic():
        due = _claim(
            Task.objects.filter(
                status__in=ACTIVE_TASK_STATUSES,
                overdue_at__isnull=True,
                due_at__isnull=False,
                due_at__lte=now,
            ).select_related("organization"),
            limit,
        )
        entries = []
        for task in due:
            task.overdue_at = now
            task.save(update_fields=["overdue_at"])
            if task.assignee_id:
                notices.enqueue(
                    organization_id=task.organization_id,
                    kind=NoticeKind.TASK_OVERDUE,
                    recipients=[task.assignee_id],
                    key=f"task:{task.pk}:overdue:{task.due_at.timestamp():.0f}",
                    task=task,
                )
            entries.append(
                (task, "task.overdue", {"due_at": task.due_at.isoformat(), "assignee": task.assignee_id})
            )
            publish_task(task, "task.overdue")
        record_many(job=TASKS_JOB, entries=entries)
    return len(due)


def playbook_key(incident_id) -> str:
    return f"playbook:incident:{incident_id}"


def _lock_playbook_starts(organization_id) -> None:
    """Until commit: the organization's playbook starts, one tick at a time (ticks overlap when one
    outlasts the beat's period), so a batch never collides with another's keys."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PLAYBOOK_LOCK_NAMESPACE, organization_id])


def _start_playbooks(definition, incidents) -> int:
    """Playbook runs for ``incidents`` (one organization's) not started yet, in one transaction. If
    the batch fails (an incident deleted since it was read), each run is started alone, so one
    incident that cannot have its run does not keep the others from theirs."""
    try:
        return _start_batch(definition, incidents)
    except Exception:
        logger.exception("playbook batch of %s runs failed; starting them one by one", len(incidents))
    started = 0
    for incident in incidents:
        try:
            started += _start_batch(definition, [incident])
        except Exception:  # logged; the next tick tries again while its entry is in the lookback
            logger.exception("the playbook of incident %s could not start", incident.pk)
    return started


def _start_batch(definition, incidents) -> int:
    actor = Actor.system(PLAYBOOK_JOB, organization=definition.organization)
    with transaction.atomic():
        _lock_playbook_starts(definition.organization_id)
        keys = [playbook_key(incident.pk) for incident in incidents]
        started = set(WorkflowRun.objects.filter(trigger_key__in=keys).values_list("trigger_key", flat=True))
        starts = [
            (incident, f"Playbook: #{incident.pk} {incident.title}"[:200], key)
            for incident, key in zip(incidents, keys, strict=True)
            if key not in started
        ]
        if starts:
            runs_create_for_incidents(actor=actor, definition=definition, starts=starts)
    return len(starts)


def run_playbook_tick(now=None) -> int:
    """Start the incident response playbook for every SEV1/SEV2 incident opened lately.

    Reacts to the ``incident.triggered`` ledger entries (incidents never call workflows). At least
    once: entries are re-read for ``PLAYBOOK_LOOKBACK``, and the run's unique ``trigger_key`` makes
    every start after the first a no-op. A storm's new incidents start their runs ``PLAYBOOK_BATCH``
    to a transaction.
    """
    now = now or timezone.now()
    entries = LedgerEntry.objects.filter(
        verb="incident.triggered",
        created_at__gte=now - PLAYBOOK_LOOKBACK,
        target_type="incidents.incident",
        data__severity__in=list(PLAYBOOK_SEVERITIES),
    ).values_list("organization_id", "target_id")
    wanted = {playbook_key(target_id): (org_id, target_id) for org_id, target_id in entries if org_id}
    started = set(
        WorkflowRun.objects.filter(trigger_key__in=list(wanted)).values_list("trigger_key", flat=True)
    )
    by_org: dict[int, list[int]] = {}
    for key, (org_id, target_id) in wanted.items():
        if key not in started and target_id.isdigit():
            by_org.setdefault(org_id, []).append(int(target_id))
    count = 0
    for org_id, incident_ids in sorted(by_org.items()):
        definition = (
            WorkflowDefinition.objects.filter(organization_id=org_id, key=INCIDENT_PLAYBOOK)
            .select_related("organization")
            .first()
        )
        if definition is None:
            continue
        incidents = list(Incident.objects.filter(pk__in=incident_ids, organization_id=org_id).order_by("pk"))
        for at in range(0, len(incidents), PLAYBOOK_BATCH):
            count += _start_playbooks(definition, incidents[at : at + PLAYBOOK_BATCH])
    return count
