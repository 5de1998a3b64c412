"""The workflows API: status codes, the run's representation, viewers and outsiders."""

import pytest

from tests.ledger import verbs
from tests.workflows.conftest import READY
from workflows.models import ApprovalRequest, Task, WorkflowRun

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def _create(api, definition, **extra):
    return api.post(
        "/api/v1/workflow-runs/",
        {"workflow": definition.pk, "title": "Rotate keys", "fields": READY, **extra},
        format="json",
    )


def test_create_run_and_read_its_representation(api_as, change_request):
    api = api_as("operator")

    response = _create(api, change_request)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["workflow"] == change_request.pk and body["state"] == "CREATED"
    assert {e["event"]: e["to"] for e in body["available_events"]} == {
        "submit": "PENDING_APPROVAL",
        "cancel": "CANCELLED",
    }
    assert body["approvals"] is None
    assert WorkflowRun.objects.filter(pk=body["id"], title="Rotate keys").exists()


def test_transition_approve_and_the_approvals_block(api_as, change_request, users, second_manager):
    run_id = _create(api_as("operator"), change_request).json()["id"]

    submitted = api_as("operator").post(
        f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "submit"}, format="json"
    )
    assert submitted.status_code == 200
    assert submitted.json()["state"] == "PENDING_APPROVAL"
    assert submitted.json()["approvals"]["required"] == 2

    approved = api_as("manager").post(
        f"/api/v1/workflow-runs/{run_id}/approve/", {"comment": "ok"}, format="json"
    )
    assert approved.status_code == 200
    block = approved.json()["approvals"]
    assert (block["received"], block["required"], block["status"]) == (1, 2, "pending")
    assert block["decisions"][0]["approver"]["username"] == "manager"
    assert block["decisions"][0]["verdict"] == "approve" and block["decisions"][0]["comment"] == "ok"
    assert block["decisions"][0]["decided_at"]

    approved = api_as("admin").post(f"/api/v1/workflow-runs/{run_id}/approve/", {}, format="json")
    assert approved.json()["state"] == "APPROVED"


def test_the_requester_cannot_approve_their_own_run(api_as, change_request, users):
    run_id = _create(api_as("manager"), change_request).json()["id"]
    api_as("manager").post(f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "submit"}, format="json")

    response = api_as("manager").post(f"/api/v1/workflow-runs/{run_id}/approve/", {}, format="json")

    assert response.status_code == 403
    assert response["Content-Type"].startswith(PROBLEM)
    assert ApprovalRequest.objects.get(run_id=run_id).received == 0


def test_an_invalid_transition_is_a_409_problem(api_as, change_request):
    run_id = _create(api_as("operator"), change_request).json()["id"]

    response = api_as("operator").post(
        f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "complete"}, format="json"
    )

    assert response.status_code == 409
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["type"].endswith("invalid-transition")
    assert WorkflowRun.objects.get(pk=run_id).state == "CREATED"


def test_a_repeated_transition_is_200_and_unchanged(api_as, change_request):
    api = api_as("operator")
    run_id = _create(api, change_request).json()["id"]
    api.post(f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "submit"}, format="json")
    before = verbs(WorkflowRun.objects.get(pk=run_id))

    response = api.post(f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "submit"}, format="json")

    assert response.status_code == 200
    assert verbs(WorkflowRun.objects.get(pk=run_id)) == before


def test_missing_required_fields_is_a_400_naming_them(api_as, change_request):
    api = api_as("operator")
    run_id = _create(api, change_request, fields={}).json()["id"]

    response = api.post(f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "submit"}, format="json")

    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"fields.plan", "fields.rollback_plan"} <= fields


def test_approving_a_run_without_a_gate_is_409(api_as, change_request):
    run_id = _create(api_as("operator"), change_request).json()["id"]

    assert (
        api_as("manager").post(f"/api/v1/workflow-runs/{run_id}/approve/", {}, format="json").status_code
        == 409
    )


def test_viewer_reads_but_cannot_act(api_as, change_request):
    run_id = _create(api_as("operator"), change_request).json()["id"]
    viewer = api_as("viewer")

    assert viewer.get(f"/api/v1/workflow-runs/{run_id}/").json()["available_events"] == []
    assert _create(viewer, change_request).status_code == 403
    assert (
        viewer.post(
            f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "cancel"}, format="json"
        ).status_code
        == 403
    )
    assert viewer.post("/api/v1/tasks/", {"title": "x"}, format="json").status_code == 403
    assert WorkflowRun.objects.get(pk=run_id).state == "CREATED"


def test_outsider_gets_404(api_as, change_request):
    run_id = _create(api_as("operator"), change_request).json()["id"]
    outsider = api_as("outsider")

    assert outsider.get(f"/api/v1/workflow-runs/{run_id}/").status_code == 404
    assert (
        outsider.post(
            f"/api/v1/workflow-runs/{run_id}/transition/", {"event": "cancel"}, format="json"
        ).status_code
        == 404
    )
    assert outsider.get(f"/api/v1/workflows/{change_request.pk}/").status_code == 404
    # Another organization's workflow cannot be started either: it does not exist for them.
    assert _create(outsider, change_request).status_code == 400


def test_approvals_mine_lists_what_waits_on_me(api_as, pending_change, users):
    mine = api_as("manager").get("/api/v1/approvals/?mine=true")
    requester = api_as("operator").get("/api/v1/approvals/?mine=true")

    assert [a["run"] for a in mine.json()["results"]] == [pending_change.pk]
    assert requester.json()["results"] == []
    assert api_as("manager").get("/api/v1/approvals/?mine=maybe").status_code == 400


def test_definitions_list_with_versions_and_publish(api_as, change_request):
    listed = api_as("viewer").get("/api/v1/workflows/")
    assert listed.status_code == 200
    row = next(d for d in listed.json()["results"] if d["key"] == "change_request")
    assert row["current_version"] == 1 and row["versions"][0]["spec"]["states"]

    spec = row["versions"][0]["spec"]
    assert (
        api_as("operator")
        .patch(f"/api/v1/workflows/{change_request.pk}/", {"spec": spec}, format="json")
        .status_code
        == 403
    )
    changed = {**spec, "transitions": spec["transitions"][:-1]}
    published = api_as("manager").patch(
        f"/api/v1/workflows/{change_request.pk}/", {"spec": changed}, format="json"
    )
    assert published.status_code == 200 and published.json()["current_version"] == 2

    bad = api_as("manager").patch(
        f"/api/v1/workflows/{change_request.pk}/", {"spec": {"states": []}}, format="json"
    )
    assert bad.status_code == 400
    assert change_request.versions.count() == 2


def test_tasks_create_update_complete(api_as, users):
    api = api_as("operator")
    created = api.post(
        "/api/v1/tasks/",
        {"title": "Check backups", "assignee": users["operator"].pk, "checklist": [{"text": "restore test"}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    assert created.json()["checklist"] == [{"text": "restore test", "done": False}]

    bad = api.patch(f"/api/v1/tasks/{task_id}/", {"checklist": [{"nope": 1}]}, format="json")
    assert bad.status_code == 400

    done = api.post(f"/api/v1/tasks/{task_id}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert Task.objects.get(pk=task_id).completed_at is not None
    assert verbs(Task.objects.get(pk=task_id)) == ["task.created", "task.completed"]
    assert [t["id"] for t in api.get("/api/v1/tasks/?mine=true").json()["results"]] == []
