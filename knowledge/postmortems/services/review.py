"""Review through the organization's ``postmortem_review`` workflow.

Submitting starts (or resumes) a run linked from the postmortem (``review_run``); the postmortem's
status follows the run's state: its initial state is a draft, a state named PUBLISHED (or APPROVED,
for an organization that reshaped the template around an approval gate) publishes it, any other
terminal state ends the review. The run moves through the workflows services, whoever sends the
event (this app, the run page, an approval gate); ``reconcile_review`` reads where it stands, right
after our own events and from the ``knowledge.postmortems.review_tick`` for moves made elsewhere.
"""

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows.builtins import POSTMORTEM_REVIEW
from workflows.models import ApprovalRequest, ApprovalStatus, Verdict, WorkflowDefinition, WorkflowRun
from workflows.services.approvals import decide
from workflows.services.runs import run_create, transition

from ..errors import ReadOnly
from ..models import Postmortem, PostmortemRevision, PostmortemStatus

PUBLISH_STATES = frozenset({"PUBLISHED", "APPROVED"})
SUBMIT_EVENT = "request_review"


def timeline_digest(postmortem: Postmortem) -> str:
    """One SHA-256 over the timeline's (sequence, entry hash) pairs, written into the publish entry."""
    pairs = postmortem.timeline.order_by("sequence").values_list("sequence", "entry_hash")
    return hashlib.sha256("".join(f"{seq}:{digest}\n" for seq, digest in pairs).encode()).hexdigest()


def _status_for(run: WorkflowRun) -> str | None:
    """The postmortem status the run's state stands for; ``None``: the review ended unpublished."""
    spec = run.spec
    if run.state in PUBLISH_STATES:
        return PostmortemStatus.PUBLISHED
    if spec.is_terminal(run.state):
        return None
    if run.state == spec.initial:
        return PostmortemStatus.DRAFT
    return PostmortemStatus.IN_REVIEW


def postmortem_submit(*, actor: Actor, postmortem: Postmortem) -> Postmortem:
    actor.require(Capability.POSTMORTEM_EDIT)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        raise ReadOnly("This postmortem is published already.")
    with transaction.atomic():
        locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
        run = WorkflowRun.objects.filter(pk=locked.review_run_id).first()
        if run is None or run.spec.is_terminal(run.state):
            definition = WorkflowDefinition.objects.filter(
                organization=locked.organization, key=POSTMORTEM_REVIEW
            ).first()
            if definition is None:
                raise ValidationError({"review": "This organization has no postmortem review workflow."})
            run = run_create(
                actor=actor,
                definition=definition,
                title=f"Review: {locked.title}"[:200],
                incident=locked.incident,
            )
            locked.review_run = run
            locked.save(update_fields=["review_run"])
            record(actor=actor, verb="postmortem.review_started", target=locked, data={"run": run.pk})
        if run.state == run.spec.initial:
            transition(actor=actor, run=run, event=SUBMIT_EVENT)
    return reconcile_review(actor=actor, postmortem=locked)


def postmortem_review_event(
    *, actor: Actor, postmortem: Postmortem, event: str, comment: str = ""
) -> Postmortem:
    """Send ``event`` (``publish``, ``request_changes`` …) to the review run; its guards, or its
    approval gate, decide who may."""
    actor.require(Capability.POSTMORTEM_VIEW)
    # The row, not the caller's copy: the run may have been started since the copy was read.
    run_id = Postmortem.objects.values_list("review_run_id", flat=True).get(pk=postmortem.pk)
    if run_id is None:
        raise ValidationError({"event": "Submit the postmortem for review first."})
    run = WorkflowRun.objects.get(pk=run_id)
    wanted = run.spec.transition(run.state, event)
    if wanted is not None and wanted.gate is not None:
        # Behind an approval gate (the built-in template's "publish"): the event is the actor's
        # approval; the gate decides who may give it (not the requester) and moves the run.
        approval = ApprovalRequest.objects.filter(run=run, event=event, status=ApprovalStatus.PENDING).first()
        if approval is None:
            raise ValidationError({"event": "No approval is pending for this review."})
        decide(actor=actor, approval=approval, verdict=Verdict.APPROVE, comment=comment)
    else:
        transition(actor=actor, run=run, event=event, comment=comment)
    return reconcile_review(actor=actor, postmortem=postmortem)


@transaction.atomic
def reconcile_review(*, actor: Actor, postmortem: Postmortem) -> Postmortem:
    """Bring the postmortem's status to where its review run stands; safe to run any number of times."""
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostmortemStatus.PUBLISHED or locked.review_run_id is None:
        return locked
    run = WorkflowRun.objects.select_related("version").get(pk=locked.review_run_id)
    wanted = _status_for(run)
    now = timezone.now()
    if wanted is None:
        locked.status, locked.review_run, locked.updated_at = PostmortemStatus.DRAFT, None, now
        locked.save(update_fields=["status", "review_run", "updated_at"])
        record(
            actor=actor,
            verb="postmortem.review_ended",
            target=locked,
            data={"run": run.pk, "state": run.state},
        )
        return locked
    if wanted == locked.status:
        return locked
    previous = locked.status
    locked.status, locked.updated_at = wanted, now
    fields = ["status", "updated_at"]
    data = {"run": run.pk, "state": run.state, "from": previous, "to": wanted}
    if wanted == PostmortemStatus.PUBLISHED:
        locked.published_revision, locked.published_at = locked.revision, now
        fields += ["published_revision", "published_at"]
        PostmortemRevision.objects.filter(postmortem=locked, number=locked.revision).update(published=True)
        data.update(
            revision=locked.revision,
            timeline=locked.timeline.count(),
            timeline_digest=timeline_digest(locked),
        )
    locked.save(update_fields=fields)
    verb = "postmortem.published" if wanted == PostmortemStatus.PUBLISHED else "postmortem.status_changed"
    record(actor=actor, verb=verb, target=locked, data=data)
    return locked
