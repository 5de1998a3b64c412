"""A storm's new incidents start their playbook runs in batches: one transaction, one statement each
for the runs, their tasks and their ledger entries, one trip for their pushes; the same rows and
entries as a run started alone, and still once per incident when two ticks run at once."""

from datetime import timedelta

import pytest
from django.db import IntegrityError

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from opsplatform.realtime import groups
from tests.accounts.factories import OrganizationFactory
from tests.at_once import at_once
from tests.incidents.factories import ServiceFactory
from tests.ledger import entries
from tests.statements import sent
from workflows import ticks
from workflows.builtins import INCIDENT_PLAYBOOK, INCIDENT_PLAYBOOK_SPEC
from workflows.models import Task, WorkflowDefinition, WorkflowRun
from workflows.ticks import PLAYBOOK_JOB, playbook_key, run_playbook_tick

TASKS = INCIDENT_PLAYBOOK_SPEC["tasks"]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(ticks, "PLAYBOOK_BATCH", 3)


def _open(org, count, severity="sev2", service=None):
    actor = Actor.system("test", organization=org)
    return [
        incident_create(actor=actor, title=f"Checkout errors {n}", severity=severity, service=service)
        for n in range(count)
    ]


def _inserts(statements, table) -> int:
    return sum(sql.startswith(f'INSERT INTO "{table}"') for sql in statements)


@pytest.mark.django_db
def test_new_incidents_start_their_runs_in_batches_with_the_rows_of_a_run_started_alone(
    org, small_batches, monkeypatch, django_capture_on_commit_callbacks
):
    service = ServiceFactory(organization=org, name="Checkout")
    opened = _open(org, 7, service=service)
    _open(org, 1, severity="sev3")
    trips = []
    monkeypatch.setattr(groups, "_send_all", trips.append)

    with django_capture_on_commit_callbacks(execute=True), sent() as statements:
        assert run_playbook_tick() == 7

    # 7 runs, 3 to a batch: three statements each for the runs, their tasks and their entries.
    assert _inserts(statements, "workflows_workflowrun") == 3
    assert _inserts(statements, "workflows_task") == 3
    # And one trip each for their pushes (the runs', the tasks' and the ledger entries').
    assert len(trips) == 3
    kinds = [event["kind"] for trip in trips for _group, event in trip]
    assert (kinds.count("workflow_run"), kinds.count("task")) == (7, 7 * len(TASKS))
    for incident in opened:
        run = WorkflowRun.objects.get(trigger_key=playbook_key(incident.pk))
        assert (run.incident, run.service, run.team_id, run.state) == (
            incident,
            service,
            incident.team_id,
            "ACTIVE",
        )
        assert run.title == f"Playbook: #{incident.pk} {incident.title}"
        tasks = list(Task.objects.filter(run=run).order_by("pk"))
        assert [task.title for task in tasks] == [item["title"] for item in TASKS]
        assert [task.due_at - run.created_at for task in tasks] == [
            timedelta(minutes=item["due_minutes"]) for item in TASKS
        ]
        assert all(task.incident == incident and task.organization == org for task in tasks)
        created = entries("workflow.run.created", target=run).get()
        assert created.actor_id == PLAYBOOK_JOB
        assert created.data == {
            "workflow": "incident_playbook",
            "version": 1,
            "state": "ACTIVE",
            "title": run.title,
            "incident": incident.pk,
            "service": service.pk,
        }
        for task in tasks:
            entry = entries("task.created", target=task).get()
            assert entry.actor_id == PLAYBOOK_JOB and entry.sequence > created.sequence
            assert entry.data == {
                "title": task.title,
                "assignee": None,
                "due_at": task.due_at.isoformat(),
                "incident": incident.pk,
                "run": run.pk,
            }
    assert run_playbook_tick() == 0
    assert WorkflowRun.objects.count() == 7


@pytest.mark.django_db
def test_each_organization_starts_its_own_runs(org, small_batches):
    other = OrganizationFactory(name="Globex", slug="globex")
    mine, theirs = _open(org, 4), _open(other, 2)

    assert run_playbook_tick() == 6

    for incident in [*mine, *theirs]:
        run = WorkflowRun.objects.get(trigger_key=playbook_key(incident.pk))
        assert run.organization_id == run.version.definition.organization_id == incident.organization_id
        assert entries("workflow.run.created", target=run).get().organization_id == incident.organization_id


@pytest.mark.django_db
def test_a_batch_leaves_out_an_incident_another_tick_started_meanwhile(org):
    """Between a tick's read of what has started and its batch, another tick may start some: the
    batch reads them again under the lock and leaves them out, instead of failing on their keys."""
    first, *rest = _open(org, 4)
    definition = WorkflowDefinition.objects.get(organization=org, key=INCIDENT_PLAYBOOK)
    assert ticks._start_playbooks(definition, [first]) == 1

    assert ticks._start_playbooks(definition, [first, *rest]) == 3

    assert WorkflowRun.objects.filter(trigger_key=playbook_key(first.pk)).count() == 1
    assert WorkflowRun.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_start_each_playbook_once(org, small_batches):
    opened = _open(org, 12)

    results, errors = at_once(run_playbook_tick)

    assert errors == []
    assert sum(results) == 12
    for incident in opened:
        run = WorkflowRun.objects.get(trigger_key=playbook_key(incident.pk))
        assert Task.objects.filter(run=run).count() == len(TASKS)
        assert entries("workflow.run.created", target=run).count() == 1


@pytest.mark.django_db
def test_an_incident_that_cannot_have_its_run_does_not_keep_the_others_from_theirs(
    org, small_batches, monkeypatch
):
    """A batch that fails (here: its statement refused when it holds one incident, as a foreign key
    would refuse an incident deleted since the tick read it) starts its runs one by one."""
    bad, *good = _open(org, 5)
    real = ticks.runs_create_for_incidents

    def refusing(*, actor, definition, starts):
        if any(incident.pk == bad.pk for incident, _title, _key in starts):
            raise IntegrityError("insert or update on table violates foreign key constraint")
        return real(actor=actor, definition=definition, starts=starts)

    monkeypatch.setattr(ticks, "runs_create_for_incidents", refusing)
    assert run_playbook_tick() == 4

    assert not WorkflowRun.objects.filter(trigger_key=playbook_key(bad.pk)).exists()
    for incident in good:
        run = WorkflowRun.objects.get(trigger_key=playbook_key(incident.pk))
        assert Task.objects.filter(run=run).count() == len(TASKS)
    # Once it can, the next tick starts it (its entry is still in the lookback).
    monkeypatch.setattr(ticks, "runs_create_for_incidents", real)
    assert run_playbook_tick() == 1
    assert WorkflowRun.objects.count() == 5
