import pytest
from django.core.exceptions import ValidationError

from incidents.services import incident_create
from knowledge.models import RunbookStepCheck
from knowledge.selectors import runbooks_for_incident
from tests.incidents.factories import ServiceFactory
from tests.ledger import entries, verbs

STEPS = "Steps:\n\n- [ ] Check replica lag\n- [ ] Promote the replica\n- [ ] Repoint the pooler\n"


@pytest.fixture
def incident(actor_as, checkout):
    return incident_create(
        actor=actor_as("operator"),
        title="Checkout DB down",
        service=checkout,
        severity="sev1",
        labels={"db": "postgres", "region": "eu-west-1"},
    )


def test_matching_by_service_severity_and_labels_best_first(write, actor_as, incident, checkout, org):
    other = ServiceFactory(organization=org)
    by_service = write("Checkout generic", STEPS, runbook_for={"services": [checkout.pk]})
    by_all = write(
        "Checkout Postgres EU",
        STEPS,
        runbook_for={
            "services": [checkout.pk],
            "severities": ["sev1", "sev2"],
            "labels": {"db": "postgres", "region": {"op": "regex", "value": "^eu-"}},
        },
    )
    by_label = write("Any postgres", STEPS, runbook_for={"labels": {"db": "postgres"}})
    write("Other service", STEPS, runbook_for={"services": [other.pk]})
    write("Low severity only", STEPS, runbook_for={"severities": ["sev4"]})
    write("Wrong label", STEPS, runbook_for={"labels": {"db": {"op": "equals", "value": "mysql"}}})
    write(
        "Negated label",
        STEPS,
        runbook_for={"labels": {"region": {"op": "regex", "value": "^eu", "negate": True}}},
    )
    write("Plain article", STEPS)
    matched = runbooks_for_incident(actor_as("viewer"), incident)
    assert [(a.pk, score) for a, score in matched] == [(by_all.pk, 4), (by_label.pk, 1), (by_service.pk, 1)]


def test_invalid_selectors_are_refused(write, api_as):
    with pytest.raises(ValidationError) as exc:
        write("Bad", runbook_for={"labels": {"db": {"op": "regex", "value": "("}}})
    assert "invalid regular expression" in str(exc.value)
    response = api_as("operator").post(
        "/api/v1/articles/",
        {"title": "Bad", "body": "", "runbook_for": {"severities": ["urgent"]}},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "severities" in str(response.json())


def test_incident_api_detail_lists_runbooks(write, api_as, incident, checkout):
    runbook = write("Checkout DB", STEPS, runbook_for={"services": [checkout.pk], "severities": ["sev1"]})
    body = api_as("viewer").get(f"/api/v1/incidents/{incident.pk}/").json()
    assert body["runbooks"] == [
        {
            "id": runbook.pk,
            "title": "Checkout DB",
            "url": f"/knowledge/articles/{runbook.pk}/",
            "score": 2,
            "revision": 1,
        }
    ]


def test_ticking_steps_records_on_the_incident_timeline(write, client_as, incident, checkout, users):
    runbook = write("Checkout DB", STEPS, runbook_for={"services": [checkout.pk]})
    client = client_as("operator")
    url = f"/knowledge/incidents/{incident.pk}/runbooks/"
    panel = client.get(url)
    assert panel.status_code == 200 and "Promote the replica" in panel.content.decode()
    revision = runbook.current_revision
    assert client.post(url, {"revision": revision.pk, "step": 2}).status_code == 200
    assert client.post(url, {"revision": revision.pk, "step": 2}).status_code == 200  # twice: one tick
    check = RunbookStepCheck.objects.get(incident=incident)
    assert (check.revision, check.step, check.checked_by) == (revision, 1, users["operator"])
    entry = entries("incident.runbook_step_checked", target=incident).get()
    assert entry.data["text"] == "Promote the replica" and entry.data["step"] == 2
    assert verbs(incident)[-1] == "incident.runbook_step_checked"
    assert client.post(url, {"revision": revision.pk, "step": 9}).status_code == 400
    viewer = client_as("viewer").post(url, {"revision": revision.pk, "step": 1})
    assert viewer.status_code == 403
    assert RunbookStepCheck.objects.filter(incident=incident).count() == 1
