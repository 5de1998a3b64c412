"""The demo seed gives every organization change requests in every state, through the services."""

from io import StringIO

import pytest
from django.core.management import call_command

from workflows.builtins import CHANGE_REQUEST_SPEC
from workflows.models import ApprovalRequest, Task, WorkflowRun


@pytest.mark.django_db
def test_seed_demo_creates_runs_in_every_state_idempotently():
    call_command("seed_demo", stdout=StringIO())
    first = WorkflowRun.objects.count()
    call_command("seed_demo", stdout=StringIO())

    assert WorkflowRun.objects.count() == first
    states = {s["key"] for s in CHANGE_REQUEST_SPEC["states"]}
    for org_id in WorkflowRun.objects.values_list("organization_id", flat=True).distinct():
        seen = set(WorkflowRun.objects.filter(organization_id=org_id).values_list("state", flat=True))
        assert states <= seen
    # The change request's gate (automation's risky actions wait in approvals of their own).
    waiting = ApprovalRequest.objects.filter(
        status="pending", run__version__definition__key="change_request"
    ).first()
    assert waiting.received == 1 and waiting.required == 2
    assert Task.objects.filter(due_at__isnull=False).count() >= 3
    # SEV1/SEV2 incidents have their playbook (the incident page's workflow card), one task done.
    playbooks = WorkflowRun.objects.filter(
        version__definition__key="incident_playbook", incident__isnull=False
    )
    assert playbooks.exists()
    assert Task.objects.filter(run__in=playbooks, status="done").exists()
