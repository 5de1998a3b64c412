"""Two approvers deciding at the same instant on real PostgreSQL: one transition, one ledger entry."""

import threading

import pytest
from django.db import connection

from audit.models import LedgerEntry
from opsplatform.core.actors import Actor
from tests.workflows.specs import one_gate
from workflows.errors import TransitionError
from workflows.models import ApprovalDecision, ApprovalRequest, ApprovalStatus, WorkflowRun
from workflows.services.approvals import decide
from workflows.services.definitions import definition_create
from workflows.services.runs import run_create, transition


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("verdicts", [("approve", "approve"), ("approve", "reject")])
def test_simultaneous_decisions_with_one_required_transition_once(org, users, verdicts):
    operator = Actor.for_member(users["operator"], org)
    definition = definition_create(
        actor=Actor.for_member(users["manager"], org), key="race", name="Race", spec=one_gate(required=1)
    )
    run = transition(
        actor=operator, run=run_create(actor=operator, definition=definition, title="Race"), event="submit"
    )
    request = ApprovalRequest.objects.get(run=run)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def decide_as(role, verdict):
        try:
            barrier.wait()
            decide(actor=Actor.for_member(users[role], org), approval=request, verdict=verdict)
            outcomes.append(role)
        except TransitionError as exc:  # the loser finds the request already decided
            errors.append(exc.code)
        except Exception as exc:  # anything else is a failure, asserted below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide_as, args=(role, verdict))
        for role, verdict in zip(("manager", "admin"), verdicts, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 1 and errors == ["approval_closed"]
    request.refresh_from_db()
    assert request.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
    assert ApprovalDecision.objects.filter(request=request).count() == 1
    assert request.received == (1 if request.status == ApprovalStatus.APPROVED else 0)
    run = WorkflowRun.objects.get(pk=run.pk)
    assert run.state in ("OK", "NO")
    moved = LedgerEntry.objects.filter(
        verb="workflow.run.transitioned", target_id=str(run.pk), data__from="WAIT"
    )
    assert moved.count() == 1
    assert LedgerEntry.objects.filter(verb="workflow.approval.decided", target_id=str(run.pk)).count() == 1
