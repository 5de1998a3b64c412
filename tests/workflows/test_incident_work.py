"""The incident page's workflow card: the incident's runs and tasks (a SEV1's playbook), ticking a
task done there (htmx, recorded in the ledger), who may; and the same data in the API's incident
detail through the incidents' contribution registry."""

import pytest
from django.urls import reverse

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.ledger import entries
from workflows.models import Task, TaskStatus, WorkflowRun
from workflows.services.task_items import task_create
from workflows.ticks import playbook_key, run_playbook_tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev1(org, users):
    incident = incident_create(
        actor=Actor.for_member(users["operator"], org), title="Checkout down", severity="sev1"
    )
    run_playbook_tick()
    return incident


def _card(incident):
    return reverse("workflows:incident_work", args=[incident.pk])


def test_the_incident_page_loads_the_card_with_the_playbook_run_and_its_tasks(client_as, sev1):
    client = client_as("viewer")
    page = client.get(reverse("incidents:detail", args=[sev1.pk]))
    assert _card(sev1) in page.content.decode()

    response = client.get(_card(sev1), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    run = WorkflowRun.objects.get(trigger_key=playbook_key(sev1.pk))
    assert response.status_code == 200
    assert f'data-run="{run.pk}"' in html
    tasks = Task.objects.filter(run=run)
    assert tasks.count() == 5 and all(f'data-task="{t.pk}"' in html for t in tasks)
    assert "hx-post" not in html  # a viewer sees the tasks, without the tick buttons


def test_a_responder_ticks_a_task_done_and_the_ledger_records_it(client_as, sev1, users):
    task = Task.objects.filter(run__incident=sev1).order_by("id").first()
    response = client_as("operator").post(_card(sev1), {"task": task.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    entry = entries("task.completed", target=task).get()
    assert entry.actor_id == str(users["operator"].pk)
    assert f'data-task="{task.pk}" data-status="done"' in response.content.decode()

    # Ticking it again changes nothing and writes nothing.
    client_as("operator").post(_card(sev1), {"task": task.pk})
    assert entries("task.completed", target=task).count() == 1


def test_a_viewer_cannot_tick_and_an_outsider_sees_nothing(client_as, sev1):
    task = Task.objects.filter(run__incident=sev1).first()
    assert client_as("viewer").post(_card(sev1), {"task": task.pk}).status_code == 403
    assert client_as("outsider").get(_card(sev1)).status_code == 404
    assert client_as("outsider").post(_card(sev1), {"task": task.pk}).status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_task_of_another_incident_is_refused(client_as, sev1, actor_as):
    other = incident_create(actor=actor_as("operator"), title="Other", severity="sev3")
    stray = task_create(actor=actor_as("operator"), title="Elsewhere", incident=other)
    response = client_as("operator").post(_card(sev1), {"task": stray.pk})
    assert response.status_code == 400
    stray.refresh_from_db()
    assert stray.status == TaskStatus.OPEN
    assert client_as("operator").post(_card(sev1), {"task": "x"}).status_code == 400


def test_the_api_incident_detail_lists_runs_and_tasks(api_as, sev1):
    body = api_as("viewer").get(f"/api/v1/incidents/{sev1.pk}/").json()
    run = WorkflowRun.objects.get(trigger_key=playbook_key(sev1.pk))
    assert [r["id"] for r in body["workflow_runs"]] == [run.pk]
    assert body["workflow_runs"][0]["workflow"] == "incident_playbook"
    assert sorted(t["id"] for t in body["tasks"]) == sorted(
        Task.objects.filter(run=run).values_list("pk", flat=True)
    )
    assert {t["status"] for t in body["tasks"]} == {"open"}
