"""The definition editor page: rows of states and transitions with guards; saving publishes the next
version (runs keep theirs); an invalid machine or bad JSON is a form error (400), never a 500, and
publishes nothing; only managers may edit."""

import pytest
from django.urls import reverse

from tests.ledger import entries
from workflows.editor import initial_rows
from workflows.models import WorkflowVersion
from workflows.services.definitions import latest_version
from workflows.services.runs import run_create

pytestmark = pytest.mark.django_db


def _post_data(spec: dict) -> dict:
    """What the editor's form posts for ``spec`` (as a browser would, from the rows it showed)."""
    states, transitions, extras = initial_rows(spec)
    data = {
        "states-TOTAL_FORMS": str(len(states)),
        "states-INITIAL_FORMS": str(len(states)),
        "transitions-TOTAL_FORMS": str(len(transitions)),
        "transitions-INITIAL_FORMS": str(len(transitions)),
        "extras-fields": extras["fields"],
        "extras-tasks": extras["tasks"],
    }
    for i, row in enumerate(states):
        data[f"states-{i}-key"] = row["key"]
        data[f"states-{i}-label"] = row["label"]
        if row["initial"]:
            data[f"states-{i}-initial"] = "on"
        if row["terminal"]:
            data[f"states-{i}-terminal"] = "on"
    for i, row in enumerate(transitions):
        for name, value in row.items():
            data[f"transitions-{i}-{name}"] = value
    return data


def _edit(definition):
    return reverse("workflows:definition_edit", args=[definition.pk])


def test_the_editor_shows_the_current_machine_as_rows(client_as, change_request):
    response = client_as("manager").get(_edit(change_request))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="PENDING_APPROVAL"' in html and 'name="transitions-0-event"' in html
    assert html.count('name="states-') >= 7 * 4


def test_saving_publishes_a_new_version_and_runs_keep_theirs(client_as, change_request, actor_as):
    before = run_create(actor=actor_as("operator"), definition=change_request, title="Before the edit")
    data = _post_data(latest_version(change_request).spec)
    # A new end state ON_HOLD, reached from CREATED by "hold", which needs a manager.
    data.update(
        {
            "states-TOTAL_FORMS": str(int(data["states-TOTAL_FORMS"]) + 1),
            "states-7-key": "ON_HOLD",
            "states-7-label": "On hold",
            "states-7-terminal": "on",
            "transitions-TOTAL_FORMS": str(int(data["transitions-TOTAL_FORMS"]) + 1),
        }
    )
    n = int(data["transitions-TOTAL_FORMS"]) - 1
    data.update(
        {
            f"transitions-{n}-source": "CREATED",
            f"transitions-{n}-event": "hold",
            f"transitions-{n}-target": "ON_HOLD",
            f"transitions-{n}-role": "manager",
        }
    )
    response = client_as("manager").post(_edit(change_request), data)

    assert response.status_code == 302
    version = latest_version(change_request)
    assert version.number == 2
    hold = next(t for t in version.spec["transitions"] if t["event"] == "hold")
    assert hold == {"from": "CREATED", "event": "hold", "to": "ON_HOLD", "guard": {"role": "manager"}}
    # Everything else came through the rows unchanged (the gate's JSON too).
    previous = WorkflowVersion.objects.get(definition=change_request, number=1).spec
    assert [t for t in version.spec["transitions"] if t["event"] != "hold"] == previous["transitions"]
    assert entries("workflow.definition.published", target=change_request).last().data["version"] == 2
    before.refresh_from_db()
    assert before.version.number == 1
    after = run_create(actor=actor_as("operator"), definition=change_request, title="After the edit")
    assert after.version.number == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"states-1-initial": "on"}, "exactly one state is initial"),
        ({"transitions-0-target": "NOWHERE"}, "unknown state &#x27;NOWHERE&#x27;"),
        ({"transitions-0-event": "Not An Event"}, "transitions.0.event"),
    ],
)
def test_an_invalid_machine_is_a_form_error_and_publishes_nothing(client_as, change_request, change, problem):
    data = {**_post_data(latest_version(change_request).spec), **change}
    response = client_as("manager").post(_edit(change_request), data)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert latest_version(change_request).number == 1


def test_bad_json_and_a_tampered_form_are_form_errors(client_as, change_request):
    data = _post_data(latest_version(change_request).spec)
    response = client_as("manager").post(_edit(change_request), {**data, "transitions-0-gate": "{not json"})
    assert response.status_code == 400 and "Not valid JSON" in response.content.decode()
    tampered = {k: v for k, v in data.items() if not k.startswith("states-")}
    assert client_as("manager").post(_edit(change_request), tampered).status_code == 400
    assert latest_version(change_request).number == 1


def test_only_managers_edit(client_as, change_request):
    data = _post_data(latest_version(change_request).spec)
    assert client_as("operator").get(_edit(change_request)).status_code == 403
    assert client_as("operator").post(_edit(change_request), data).status_code == 403
    assert client_as("outsider").get(_edit(change_request)).status_code == 404
    assert latest_version(change_request).number == 1
