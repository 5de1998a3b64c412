"""Reads the workflow pages and the API share."""

from django.db.models import Case, F, Prefetch, Q, QuerySet, When

from audit.models import LedgerEntry
from workflows.models import (
    ACTIVE_TASK_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    Task,
    WorkflowDefinition,
    WorkflowRun,
)

DECISIONS = Prefetch("decisions", queryset=ApprovalDecision.objects.select_related("approver"))


def definitions_for_list(organization) -> QuerySet[WorkflowDefinition]:
    return WorkflowDefinition.objects.for_organization(organization).prefetch_related("versions")


def runs_for_list(organization) -> QuerySet[WorkflowRun]:
    return (
        WorkflowRun.objects.for_organization(organization)
        .select_related("version__definition", "owner")
        .prefetch_related(
            Prefetch(
                "approval_requests",
                queryset=ApprovalRequest.objects.select_related("requester", "run")
                .prefetch_related(DECISIONS)
                .order_by("-created_at", "-id"),
            )
        )
    )


def current_approval(run) -> ApprovalRequest | None:
    """The request of the gate the run waits at, else its latest one (prefetched when listed)."""
    requests = list(run.approval_requests.all())
    requests.sort(key=lambda r: (r.created_at, r.pk), reverse=True)
    pending = [r for r in requests if r.status == ApprovalStatus.PENDING]
    return (pending or requests or [None])[0]


def approvals_for_list(organization) -> QuerySet[ApprovalRequest]:
    return (
        ApprovalRequest.objects.for_organization(organization)
        .select_related("requester", "run__version__definition")
        .prefetch_related(DECISIONS)
    )


def waiting_on(organization, user) -> QuerySet[ApprovalRequest]:
    """Pending requests naming ``user`` that they have not decided yet (their inbox)."""
    return (
        approvals_for_list(organization)
        .filter(status=ApprovalStatus.PENDING, approver_ids__contains=[user.pk])
        .exclude(decisions__approver=user)
        .order_by("created_at", "id")
    )


def tasks_for_list(organization) -> QuerySet[Task]:
    return Task.objects.for_organization(organization).select_related("assignee", "incident", "run")


def my_tasks(organization, user) -> QuerySet[Task]:
    return tasks_for_list(organization).filter(assignee=user, status__in=ACTIVE_TASK_STATUSES)


def run_timeline(run) -> QuerySet[LedgerEntry]:
    """The run's ledger entries, oldest first (the run's own, and its tasks')."""
    task_ids = [str(pk) for pk in run.tasks.values_list("pk", flat=True)]
    return (
        LedgerEntry.objects.filter(organization_id=run.organization_id)
        .filter(
            Q(target_type="workflows.workflowrun", target_id=str(run.pk))
            | Q(target_type="workflows.task", target_id__in=task_ids)
        )
        .order_by("sequence")
    )


def incident_work(organization, incident) -> tuple[list[WorkflowRun], list[Task]]:
    """The workflow runs of an incident and its tasks (linked to it, or to one of its runs): open
    tasks first, by due time."""
    runs = list(runs_for_list(organization).filter(incident=incident).order_by("-created_at", "-id")[:20])
    tasks = (
        tasks_for_list(organization)
        .filter(Q(incident=incident) | Q(run__incident=incident))
        .order_by(
            Case(When(status__in=ACTIVE_TASK_STATUSES, then=0), default=1),
            F("due_at").asc(nulls_last=True),
            "id",
        )
    )
    return runs, list(tasks[:100])
