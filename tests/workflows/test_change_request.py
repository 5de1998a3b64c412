"""Every transition and guard of the built-in change request."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.ledger import entries, verbs
from workflows.errors import TransitionError
from workflows.models import ApprovalRequest, ApprovalStatus, WorkflowRun
from workflows.services.approvals import decide
from workflows.services.definitions import definition_update
from workflows.services.runs import transition

pytestmark = pytest.mark.django_db


def _approve_twice(run, actor_as, second_manager, org):
    from opsplatform.core.actors import Actor

    request = ApprovalRequest.objects.get(run=run, status=ApprovalStatus.PENDING)
    decide(actor=actor_as("manager"), approval=request, verdict="approve")
    decide(actor=Actor.for_member(second_manager, org), approval=request, verdict="approve")
    run.refresh_from_db()
    return run


def test_a_new_change_request_starts_created_and_is_recorded(new_change, users):
    run = new_change()

    assert run.state == "CREATED"
    assert run.owner == users["operator"]
    created = entries("workflow.run.created", target=run).get()
    assert created.data["workflow"] == "change_request"
    assert created.data["version"] == 1


def test_submit_requires_plan_and_rollback_plan(new_change, actor_as):
    run = new_change(fields={"summary": "x"})

    with pytest.raises(ValidationError) as exc:
        transition(actor=actor_as("operator"), run=run, event="submit")

    assert set(exc.value.message_dict) == {"fields.plan", "fields.rollback_plan"}
    run.refresh_from_db()
    assert run.state == "CREATED"
    assert verbs(run, "workflow.run.transitioned") == []


def test_submit_with_the_fields_given_on_the_event(new_change, actor_as):
    run = new_change(fields={"summary": "x"})

    run = transition(
        actor=actor_as("operator"), run=run, event="submit", fields={"plan": "p", "rollback_plan": "r"}
    )

    assert run.state == "PENDING_APPROVAL"
    assert run.fields == {"summary": "x", "plan": "p", "rollback_plan": "r"}


def test_submit_opens_an_approval_request_for_two_excluding_the_requester(
    pending_change, users, second_manager
):
    request = ApprovalRequest.objects.get(run=pending_change)

    assert pending_change.state == "PENDING_APPROVAL"
    assert request.required == 2
    assert request.requester == users["operator"]
    assert set(request.approver_ids) == {
        users["manager"].pk,
        users["admin"].pk,
        users["owner"].pk,
        second_manager.pk,
    }
    assert verbs(pending_change) == [
        "workflow.run.created",
        "workflow.run.transitioned",
        "workflow.approval.requested",
    ]


def test_two_approvals_approve_then_start_and_complete(pending_change, actor_as, second_manager, org):
    run = _approve_twice(pending_change, actor_as, second_manager, org)
    assert run.state == "APPROVED"

    run = transition(actor=actor_as("operator"), run=run, event="start")
    assert run.state == "IN_PROGRESS"

    with pytest.raises(ValidationError):
        transition(actor=actor_as("operator"), run=run, event="complete")
    run = transition(
        actor=actor_as("operator"), run=run, event="complete", fields={"outcome": "done, no impact"}
    )
    assert run.state == "COMPLETED"
    last = entries("workflow.run.transitioned", target=run).last()
    assert (last.data["from"], last.data["to"], last.data["terminal"]) == ("IN_PROGRESS", "COMPLETED", True)


def test_one_approval_of_two_keeps_the_run_waiting(pending_change, actor_as):
    request = ApprovalRequest.objects.get(run=pending_change)

    decide(actor=actor_as("manager"), approval=request, verdict="approve", comment="fine by me")

    pending_change.refresh_from_db()
    request.refresh_from_db()
    assert pending_change.state == "PENDING_APPROVAL"
    assert (request.received, request.status) == (1, ApprovalStatus.PENDING)


def test_a_rejection_ends_the_run_rejected(pending_change, actor_as):
    request = ApprovalRequest.objects.get(run=pending_change)
    decide(actor=actor_as("manager"), approval=request, verdict="approve")

    decide(actor=actor_as("admin"), approval=request, verdict="reject", comment="not during the freeze")

    pending_change.refresh_from_db()
    request.refresh_from_db()
    assert pending_change.state == "REJECTED"
    assert request.status == ApprovalStatus.REJECTED
    moved = entries("workflow.run.transitioned", target=pending_change).last()
    assert (moved.data["event"], moved.data["to"], moved.data["comment"]) == (
        "reject",
        "REJECTED",
        "not during the freeze",
    )


def test_withdraw_goes_back_to_created_and_withdraws_the_request(pending_change, actor_as):
    run = transition(actor=actor_as("operator"), run=pending_change, event="withdraw")

    assert run.state == "CREATED"
    assert ApprovalRequest.objects.get(run=run).status == ApprovalStatus.CANCELLED
    assert "workflow.approval.withdrawn" in verbs(run)


@pytest.mark.parametrize("state_event", [("CREATED", None), ("PENDING_APPROVAL", "submit")])
def test_cancel_from_created_or_pending(new_change, actor_as, state_event):
    run = new_change()
    if state_event[1]:
        run = transition(actor=actor_as("operator"), run=run, event=state_event[1])

    run = transition(actor=actor_as("operator"), run=run, event="cancel")

    assert run.state == "CANCELLED"


def test_cancelling_an_approved_change_needs_a_manager(pending_change, actor_as, second_manager, org):
    run = _approve_twice(pending_change, actor_as, second_manager, org)

    with pytest.raises(PermissionDenied):
        transition(actor=actor_as("operator"), run=run, event="cancel")
    run.refresh_from_db()
    assert run.state == "APPROVED"

    run = transition(actor=actor_as("manager"), run=run, event="cancel")
    assert run.state == "CANCELLED"


def test_viewer_may_not_send_events(new_change, actor_as):
    run = new_change()

    with pytest.raises(PermissionDenied):
        transition(actor=actor_as("viewer"), run=run, event="cancel")

    run.refresh_from_db()
    assert run.state == "CREATED"


@pytest.mark.parametrize(
    "event,state",
    [("start", "CREATED"), ("complete", "CREATED"), ("approve", "PENDING_APPROVAL"), ("unknown", "CREATED")],
)
def test_events_the_state_does_not_allow_are_refused(new_change, actor_as, event, state):
    run = new_change()
    if state == "PENDING_APPROVAL":
        run = transition(actor=actor_as("operator"), run=run, event="submit")
    before = verbs(run)

    with pytest.raises(TransitionError):
        transition(actor=actor_as("operator"), run=run, event=event)

    run.refresh_from_db()
    assert run.state == state
    assert verbs(run) == before


def test_a_terminal_state_refuses_everything(new_change, actor_as):
    run = transition(actor=actor_as("operator"), run=new_change(), event="cancel")

    with pytest.raises(TransitionError, match="ended"):
        transition(actor=actor_as("operator"), run=run, event="submit")


def test_a_repeated_event_is_a_no_op(new_change, actor_as):
    run = new_change()
    transition(actor=actor_as("operator"), run=run, event="submit")
    count = entries(target=run).count()

    again = transition(actor=actor_as("operator"), run=run, event="submit")

    assert again.state == "PENDING_APPROVAL"
    assert entries(target=run).count() == count
    assert ApprovalRequest.objects.filter(run=run).count() == 1


def test_a_run_keeps_its_version_when_the_definition_is_edited(new_change, change_request, actor_as):
    run = new_change()
    spec = change_request.versions.get(number=1).spec
    edited = {**spec, "transitions": [t for t in spec["transitions"] if t["event"] != "cancel"]}

    definition_update(actor=actor_as("manager"), definition=change_request, spec=edited)

    assert change_request.versions.count() == 2
    run = WorkflowRun.objects.get(pk=run.pk)
    assert run.version.number == 1
    assert transition(actor=actor_as("operator"), run=run, event="cancel").state == "CANCELLED"
    assert "workflow.definition.published" in verbs(change_request)


def test_publishing_an_invalid_spec_is_refused(change_request, actor_as):
    bad = {
        "states": [{"key": "A", "initial": True}, {"key": "B"}],
        "transitions": [{"from": "A", "event": "go", "to": "C"}],
    }

    with pytest.raises(ValidationError) as exc:
        definition_update(actor=actor_as("manager"), definition=change_request, spec=bad)

    messages = " ".join(exc.value.message_dict["spec"])
    assert "terminal" in messages and "unknown state 'C'" in messages
    assert change_request.versions.count() == 1
