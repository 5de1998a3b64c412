"""Deciding an approval: one approver, one verdict, counted under the run's and the request's row
locks, so two approvers deciding at the same instant never over-count: the second waits for the
first, sees its decision, and the gate's transition happens once.

Separation of duties: the service refuses the requester, and the database refuses them too (the
decision row carries the request's requester; a CHECK forbids approver = requester).
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.errors import TransitionError
from workflows.models import ApprovalDecision, ApprovalRequest, ApprovalStatus, Verdict
from workflows.realtime import publish_run
from workflows.services import machine
from workflows.services.fields import clean_comment
from workflows.services.runs import lock
from workflows.spec import Transition

DECIDED = "workflow.approval.decided"


def _reject_transition(gated: Transition) -> Transition:
    return Transition(
        source=gated.source,
        event="reject",
        target=gated.gate.reject_to,
        label="Reject",
        capability=gated.capability,
        role=None,
        required_fields=(),
        gate=None,
    )


def _decider(actor: Actor, approval: ApprovalRequest, verdict: str):
    """The person deciding, once they may: a member who can act, not the requester."""
    actor.require(Capability.WORKFLOW_RUN, approval)
    if verdict not in Verdict.values:
        raise TransitionError(f"Unknown verdict {verdict!r}.", code="invalid")
    if actor.user is None:
        raise PermissionDenied("Only a person can approve.")
    if actor.user.pk == approval.requester_id:
        raise PermissionDenied("You asked for this approval: someone else has to decide it.")
    return actor.user


def decide(*, actor: Actor, approval: ApprovalRequest, verdict: str, comment: str = "") -> ApprovalRequest:
    if approval.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No approval matches the given query.")
    user = _decider(actor, approval, verdict)
    comment = clean_comment(comment)
    with transaction.atomic():
        # The run first, then the request: the same order as transition(), so no deadlock.
        run = lock(approval.run_id)
        request = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
        if user.pk not in request.approver_ids:
            raise PermissionDenied("You are not an approver of this request.")
        if request.decisions.filter(approver=user).exists():
            return request  # already decided by this approver: a repeat is a no-op
        if not request.is_pending:
            raise TransitionError(
                f"This approval is already {request.get_status_display().lower()}.", code="approval_closed"
            )
        now = timezone.now()
        ApprovalDecision.objects.create(
            organization_id=request.organization_id,
            request=request,
            approver=user,
            requester_id=request.requester_id,
            verdict=verdict,
            comment=comment,
            decided_at=now,
        )
        if verdict == Verdict.APPROVE:
            request.received += 1
        outcome = ""
        if verdict == Verdict.REJECT:
            outcome = ApprovalStatus.REJECTED
        elif request.received >= request.required:
            outcome = ApprovalStatus.APPROVED
        if outcome:
            request.status = outcome
            request.decided_at = now
            request.remind_at = request.escalate_at = None
        request.save(update_fields=["received", "status", "decided_at", "remind_at", "escalate_at"])
        record(
            actor=actor,
            verb=DECIDED,
            target=run,
            data={
                "approval": request.pk,
                "verdict": verdict,
                "comment": comment,
                "received": request.received,
                "required": request.required,
                "outcome": outcome or "pending",
            },
        )
        if outcome:
            gated = run.spec.transition(request.state, request.event)
            chosen = gated if outcome == ApprovalStatus.APPROVED else _reject_transition(gated)
            # Gate closed: the run moves on the version it started on, acting as the deciding approver.
            machine.apply(
                actor=actor,
                run=run,
                transition=chosen,
                now=now,
                comment=comment,
                data={"approval": request.pk},
            )
        else:
            publish_run(run, DECIDED)
    return request
