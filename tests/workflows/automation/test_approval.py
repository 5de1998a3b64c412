"""A risky action waits for a person's approval (the workflows approvals), then runs once."""

import pytest
from django.core.exceptions import PermissionDenied

from tests.ledger import entries
from workflows.automation.models import AutomationExecution, ExecutionState
from workflows.automation.tick import run_automation_tick
from workflows.models import ApprovalRequest, Notice
from workflows.services.approvals import decide

pytestmark = pytest.mark.django_db


def test_risky_action_waits_for_approval_then_runs_once(make_rule, trigger, actor_as, users):
    rule = make_rule(actions=[{"type": "escalate", "risky": True}])
    incident = trigger()
    run_automation_tick()
    run_automation_tick()
    execution = AutomationExecution.objects.get(rule=rule)
    assert execution.state == ExecutionState.AWAITING_APPROVAL
    assert entries("incident.escalated", target=incident).count() == 0
    approval = ApprovalRequest.objects.get(run=execution.approval_run)
    # The rule's author asked for it; the other managers, admins and owners decide (and are told).
    assert users["manager"].pk not in approval.approver_ids
    assert {users["admin"].pk, users["owner"].pk} <= set(approval.approver_ids)
    assert Notice.objects.filter(approval=approval).count() == len(approval.approver_ids)
    with pytest.raises(PermissionDenied):
        decide(actor=actor_as("manager"), approval=approval, verdict="approve")

    decide(actor=actor_as("admin"), approval=approval, verdict="approve", comment="go")
    for _ in range(3):
        run_automation_tick()
    execution.refresh_from_db()
    assert execution.state == ExecutionState.SUCCEEDED
    assert execution.attempts == 1
    assert entries("incident.escalated", target=incident).count() == 1


def test_a_rejected_action_never_runs(make_rule, trigger, actor_as):
    rule = make_rule(actions=[{"type": "set_severity", "severity": "sev4", "risky": True}])
    incident = trigger()
    run_automation_tick()
    execution = AutomationExecution.objects.get(rule=rule)
    approval = ApprovalRequest.objects.get(run=execution.approval_run)
    decide(actor=actor_as("owner"), approval=approval, verdict="reject", comment="no")
    run_automation_tick()
    run_automation_tick()
    execution.refresh_from_db()
    assert execution.state == ExecutionState.REJECTED
    incident.refresh_from_db()
    assert incident.severity == "sev1"
    assert entries("incident.updated", target=incident).count() == 0
