"""Stale approvals remind once and escalate once; overdue tasks are marked and notified once; the
playbook starts once per SEV1/SEV2 incident. Each tick is run twice, and concurrently."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.at_once import at_once
from tests.ledger import entries
from tests.workflows.specs import one_gate
from workflows.models import ApprovalRequest, Notice, NoticeKind, Task, WorkflowRun
from workflows.services.definitions import definition_create
from workflows.services.runs import run_create, transition
from workflows.services.task_items import task_create, task_update
from workflows.ticks import playbook_key, run_approvals_tick, run_playbook_tick, run_tasks_overdue_tick


def _waiting_request(org, users):
    manager = Actor.for_member(users["manager"], org)
    spec = one_gate(roles=("admin",), fallback={"roles": ["owner"]}, timeout=60, remind=20)
    definition = definition_create(actor=manager, key="stale", name="Stale", spec=spec)
    operator = Actor.for_member(users["operator"], org)
    run = transition(
        actor=operator, run=run_create(actor=operator, definition=definition, title="Stale"), event="submit"
    )
    return ApprovalRequest.objects.get(run=run)


@pytest.mark.django_db
def test_a_stale_approval_reminds_once_then_escalates_once(org, users):
    request = _waiting_request(org, users)
    start = request.created_at

    assert run_approvals_tick(now=start + timedelta(minutes=10)) == {"reminded": 0, "escalated": 0}
    assert run_approvals_tick(now=start + timedelta(minutes=21)) == {"reminded": 1, "escalated": 0}
    assert run_approvals_tick(now=start + timedelta(minutes=22)) == {"reminded": 0, "escalated": 0}
    assert run_approvals_tick(now=start + timedelta(minutes=61)) == {"reminded": 0, "escalated": 1}
    assert run_approvals_tick(now=start + timedelta(minutes=90)) == {"reminded": 0, "escalated": 0}

    request.refresh_from_db()
    assert users["owner"].pk in request.approver_ids
    assert request.escalate_at is None and request.escalated_at is not None
    assert Notice.objects.filter(kind=NoticeKind.APPROVAL_REMINDER).count() == 1
    assert list(
        Notice.objects.filter(kind=NoticeKind.APPROVAL_ESCALATED).values_list("recipient", flat=True)
    ) == [users["owner"].pk]
    assert entries("workflow.approval.reminded", target=request.run).count() == 1
    assert entries("workflow.approval.escalated", target=request.run).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_escalate_once(org, users):
    request = _waiting_request(org, users)
    later = request.created_at + timedelta(minutes=61)

    results, errors = at_once(lambda: run_approvals_tick(now=later))

    assert errors == []
    assert sum(r["escalated"] for r in results) == 1
    assert sum(r["reminded"] for r in results) == 1
    assert entries("workflow.approval.escalated", target=request.run).count() == 1
    assert Notice.objects.filter(kind=NoticeKind.APPROVAL_ESCALATED).count() == 1


@pytest.mark.django_db
def test_an_overdue_task_is_marked_and_notified_once(actor_as, users):
    now = timezone.now()
    task = task_create(
        actor=actor_as("operator"),
        title="Rotate keys",
        assignee=users["operator"],
        due_at=now + timedelta(minutes=5),
    )

    assert run_tasks_overdue_tick(now=now) == 0
    assert run_tasks_overdue_tick(now=now + timedelta(minutes=6)) == 1
    assert run_tasks_overdue_tick(now=now + timedelta(minutes=7)) == 0

    task.refresh_from_db()
    assert task.overdue_at is not None
    assert Notice.objects.filter(kind=NoticeKind.TASK_OVERDUE, task=task).count() == 1
    assert entries("task.overdue", target=task).count() == 1

    # A new due time may become overdue again: once more.
    task = task_update(actor=actor_as("operator"), task=task, due_at=now + timedelta(minutes=10))
    assert task.overdue_at is None
    assert run_tasks_overdue_tick(now=now + timedelta(minutes=11)) == 1
    assert Notice.objects.filter(kind=NoticeKind.TASK_OVERDUE, task=task).count() == 2


@pytest.mark.django_db
def test_done_tasks_never_become_overdue(actor_as):
    now = timezone.now()
    task = task_create(actor=actor_as("operator"), title="Done already", due_at=now - timedelta(minutes=1))
    task_update(actor=actor_as("operator"), task=task, status="done")

    assert run_tasks_overdue_tick(now=now) == 0


@pytest.mark.django_db
def test_a_sev1_incident_starts_the_playbook_once_with_its_tasks(org, users):
    operator = Actor.for_member(users["operator"], org)
    sev1 = incident_create(actor=operator, title="Checkout down", severity="sev1")
    sev3 = incident_create(actor=operator, title="Slow report", severity="sev3")

    assert run_playbook_tick() == 1
    assert run_playbook_tick() == 0

    run = WorkflowRun.objects.get(trigger_key=playbook_key(sev1.pk))
    assert run.incident == sev1 and run.state == "ACTIVE"
    assert Task.objects.filter(run=run, incident=sev1).count() == 5
    assert not WorkflowRun.objects.filter(trigger_key=playbook_key(sev3.pk)).exists()
    assert entries("workflow.run.created", target=run).get().actor_id == "workflows.playbook_tick"
