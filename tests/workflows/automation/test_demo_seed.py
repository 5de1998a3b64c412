"""The demo seed gives every organization automation rules with executions, once."""

from io import StringIO

import pytest
from django.core.management import call_command

from workflows.automation.models import AutomationExecution, AutomationRule, ExecutionState


@pytest.mark.django_db
def test_seed_demo_creates_rules_with_executions_idempotently():
    call_command("seed_demo", stdout=StringIO())
    rules, executions = AutomationRule.objects.count(), AutomationExecution.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert (AutomationRule.objects.count(), AutomationExecution.objects.count()) == (rules, executions)
    for org_id in AutomationRule.objects.values_list("organization_id", flat=True).distinct():
        states = set(
            AutomationExecution.objects.filter(organization_id=org_id).values_list("state", flat=True)
        )
        assert {ExecutionState.SUCCEEDED, ExecutionState.AWAITING_APPROVAL} <= states
        waiting = AutomationExecution.objects.get(
            organization_id=org_id, state=ExecutionState.AWAITING_APPROVAL
        )
        assert waiting.approval_run is not None
