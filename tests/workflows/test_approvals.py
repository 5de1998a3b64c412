"""N of M, all, separation of duties (in the service and in the database), rejection paths."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from opsplatform.core.actors import Actor
from tests.ledger import entries
from tests.workflows.specs import one_gate
from workflows.errors import TransitionError
from workflows.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from workflows.services.approvals import decide
from workflows.services.definitions import definition_create
from workflows.services.runs import run_create, transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated(actor_as):
    """Start a run of a one-gate workflow as ``role`` and submit it."""

    def make(spec, role="operator", key="gated"):
        definition = definition_create(actor=actor_as("manager"), key=key, name=key.title(), spec=spec)
        run = run_create(actor=actor_as(role), definition=definition, title="Needs sign-off")
        run = transition(actor=actor_as(role), run=run, event="submit")
        return run, ApprovalRequest.objects.get(run=run)

    return make


def test_the_requester_is_never_an_approver_and_cannot_decide(gated, actor_as, users):
    run, request = gated(one_gate(roles=("manager", "admin")), role="manager")

    assert users["manager"].pk not in request.approver_ids
    with pytest.raises(PermissionDenied, match="asked for this approval"):
        decide(actor=actor_as("manager"), approval=request, verdict="approve")

    assert ApprovalDecision.objects.count() == 0
    run.refresh_from_db()
    assert run.state == "WAIT"


def test_the_database_refuses_a_decision_by_the_requester(gated, users, org):
    _, request = gated(one_gate(), role="manager")

    with pytest.raises(IntegrityError, match="approval_not_by_requester"), transaction.atomic():
        ApprovalDecision.objects.create(
            organization=org,
            request=request,
            approver=users["manager"],
            requester=users["manager"],
            verdict="approve",
        )


def test_the_database_refuses_a_decision_naming_another_requester(gated, users, org):
    # Dodging the CHECK by writing someone else as requester breaks the composite foreign key.
    _, request = gated(one_gate(), role="manager")

    with pytest.raises(IntegrityError, match="approval_decision_request_requester"), transaction.atomic():
        ApprovalDecision.objects.create(
            organization=org,
            request=request,
            approver=users["manager"],
            requester=users["admin"],
            verdict="approve",
        )


def test_one_approver_decides_once(gated, users, org):
    _, request = gated(one_gate(required=2, roles=("manager", "admin", "owner")))

    with pytest.raises(IntegrityError, match="approval_decision_once"), transaction.atomic():
        for _ in range(2):
            ApprovalDecision.objects.create(
                organization=org,
                request=request,
                approver=users["admin"],
                requester=request.requester,
                verdict="approve",
            )


def test_deciding_again_is_a_no_op(gated, actor_as):
    run, request = gated(one_gate(required=2, roles=("manager", "admin", "owner")))

    decide(actor=actor_as("admin"), approval=request, verdict="approve")
    decide(actor=actor_as("admin"), approval=request, verdict="approve")

    request.refresh_from_db()
    assert request.received == 1
    assert entries("workflow.approval.decided", target=run).count() == 1


def test_n_of_m_moves_on_the_nth_approval(gated, actor_as):
    run, request = gated(one_gate(required=2, roles=("manager", "admin", "owner")))

    decide(actor=actor_as("admin"), approval=request, verdict="approve")
    run.refresh_from_db()
    assert run.state == "WAIT"
    decide(actor=actor_as("owner"), approval=request, verdict="approve")

    run.refresh_from_db()
    request.refresh_from_db()
    assert run.state == "OK"
    assert (request.status, request.received) == (ApprovalStatus.APPROVED, 2)
    with pytest.raises(TransitionError):
        decide(actor=actor_as("manager"), approval=request, verdict="approve")


def test_all_needs_every_resolved_approver(gated, actor_as):
    run, request = gated(one_gate(rule="all", roles=("manager", "admin", "owner")))
    assert request.required == 3

    for role in ("manager", "admin"):
        decide(actor=actor_as(role), approval=request, verdict="approve")
        run.refresh_from_db()
        assert run.state == "WAIT"
    decide(actor=actor_as("owner"), approval=request, verdict="approve")

    run.refresh_from_db()
    assert run.state == "OK"


def test_a_rejection_can_send_the_run_back(gated, actor_as):
    run, request = gated(one_gate(on_reject="back_to:DRAFT"))

    decide(actor=actor_as("admin"), approval=request, verdict="reject", comment="needs a rollback plan")

    run.refresh_from_db()
    assert run.state == "DRAFT"
    # Submitting again opens a fresh request.
    transition(actor=actor_as("operator"), run=run, event="submit")
    assert ApprovalRequest.objects.filter(run=run, status=ApprovalStatus.PENDING).count() == 1


def test_someone_not_named_cannot_decide(gated, actor_as):
    _, request = gated(one_gate(roles=("owner",)))

    with pytest.raises(PermissionDenied, match="not an approver"):
        decide(actor=actor_as("admin"), approval=request, verdict="approve")


def test_a_viewer_named_as_approver_still_cannot_act(gated, actor_as, users):
    _, request = gated(one_gate(roles=(), users=(users["viewer"].pk,)))

    with pytest.raises(PermissionDenied):
        decide(actor=actor_as("viewer"), approval=request, verdict="approve")


def test_an_outsider_gets_not_found(gated, outsider, other_org):
    from django.http import Http404

    _, request = gated(one_gate())

    with pytest.raises(Http404):
        decide(actor=Actor.for_member(outsider, other_org), approval=request, verdict="approve")


def test_a_spec_naming_another_organizations_user_is_refused(actor_as, outsider):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Not in this organization"):
        definition_create(actor=actor_as("manager"), key="x", name="X", spec=one_gate(users=(outsider.pk,)))
