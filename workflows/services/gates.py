"""Entering and leaving an approval gate: open one request with its approvers resolved and stored;
close what is still pending when the run leaves the gate's state another way (withdrawn, cancelled).
"""

from datetime import timedelta

from django.core.exceptions import ValidationError

from audit.services import record
from opsplatform.core.actors import Actor
from workflows.models import ApprovalRequest, ApprovalStatus, NoticeKind, WorkflowRun
from workflows.services import notices, people
from workflows.spec import Transition


def open_request(*, actor: Actor, run: WorkflowRun, gated: Transition, now) -> ApprovalRequest:
    """Called with the run locked, as it enters ``gated.source``."""
    gate = gated.gate
    # The requester is whose change it is (the run's owner), or whoever sent it into the gate.
    requester_id = run.owner_id or getattr(actor.user, "pk", None)
    if requester_id is None:
        raise ValidationError({"run": "An approval needs a requester: give the run an owner."})
    # Separation of duties: neither the requester nor the person submitting counts as an approver.
    excluded = {requester_id, getattr(actor.user, "pk", None)}
    approvers = sorted(people.resolve(run.organization, gate.approvers, at=now) - excluded)
    required = max(1, len(approvers) if gate.rule == "all" else gate.required)
    request = ApprovalRequest.objects.create(
        organization_id=run.organization_id,
        run=run,
        state=gated.source,
        event=gated.event,
        requester_id=requester_id,
        rule=gate.rule,
        required=required,
        approver_ids=approvers,
        created_at=now,
        remind_at=now + timedelta(minutes=gate.remind_after_minutes),
        escalate_at=now + timedelta(minutes=gate.timeout_minutes),
    )
    notices.enqueue(
        organization_id=run.organization_id,
        kind=NoticeKind.APPROVAL_REQUESTED,
        recipients=approvers,
        key=f"approval:{request.pk}:requested",
        approval=request,
    )
    record(
        actor=actor,
        verb="workflow.approval.requested",
        target=run,
        data={
            "approval": request.pk,
            "state": gated.source,
            "event": gated.event,
            "rule": gate.rule,
            "required": required,
            "approvers": approvers,
            "requester": requester_id,
        },
    )
    return request


def close_pending(*, actor: Actor, run: WorkflowRun, now) -> None:
    """The run left a gate's state by another event: what was still waiting is withdrawn."""
    pending = list(ApprovalRequest.objects.select_for_update().filter(run=run, status=ApprovalStatus.PENDING))
    for request in pending:
        request.status = ApprovalStatus.CANCELLED
        request.decided_at = now
        request.remind_at = request.escalate_at = None
        request.save(update_fields=["status", "decided_at", "remind_at", "escalate_at"])
        record(
            actor=actor,
            verb="workflow.approval.withdrawn",
            target=run,
            data={"approval": request.pk, "received": request.received, "required": request.required},
        )
