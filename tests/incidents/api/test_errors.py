"""``/api/v1/incidents/``: bad input as problem+json, no delete or replace, the schema."""

from datetime import timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from audit.models import LedgerEntry
from incidents.models import Incident, Status
from tests.incidents.api.helpers import (
    INCIDENTS,
    assert_problem,
    detail,
)


@pytest.fixture
def bad_inputs(users, other_service, other_team, outsider, foreign_incident):
    past = (timezone.now() - timedelta(minutes=5)).isoformat()
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    return {
        "create-no-title": ("post", "", {}, "title"),
        "create-title-type": ("post", "", {"title": ["a"]}, "title"),
        "create-unknown-field": ("post", "", {"title": "x", "urgency": "high"}, "urgency"),
        "create-read-only-field": ("post", "", {"title": "x", "status": "resolved"}, "status"),
        "create-severity": ("post", "", {"title": "x", "severity": "sev9"}, "severity"),
        "create-priority-type": ("post", "", {"title": "x", "priority": 3}, "priority"),
        "create-foreign-service": ("post", "", {"title": "x", "service": other_service.pk}, "service"),
        "create-foreign-team": ("post", "", {"title": "x", "team": other_team.pk}, "team"),
        "create-labels": ("post", "", {"title": "x", "labels": {"a": {"b": "c"}}}, "labels.a"),
        "create-foreign-assignee": ("post", "", {"title": "x", "assignees": [outsider.pk]}, "assignees"),
        "patch-severity": ("patch", None, {"severity": "critical"}, "severity"),
        "patch-foreign-service": ("patch", None, {"service": other_service.pk}, "service"),
        "patch-status": ("patch", None, {"status": "resolved"}, "status"),
        "patch-blank-title": ("patch", None, {"title": "  "}, "title"),
        "acknowledge-unknown-field": ("post", "acknowledge", {"force": True}, "force"),
        "resolve-long-note": ("post", "resolve", {"note": "x" * 10_001}, "note"),
        "snooze-past": ("post", "snooze", {"until": past}, "until"),
        "snooze-not-a-time": ("post", "snooze", {"until": "tomorrow"}, "until"),
        "snooze-minutes-type": ("post", "snooze", {"minutes": "soon"}, "minutes"),
        "snooze-too-long": ("post", "snooze", {"minutes": 8 * 24 * 60}, "minutes"),
        "snooze-nothing": ("post", "snooze", {}, "until"),
        "snooze-both": ("post", "snooze", {"minutes": 5, "until": soon}, "minutes"),
        "reassign-outsider": ("post", "reassign", {"assignees": [outsider.pk]}, "assignees"),
        "reassign-type": ("post", "reassign", {"assignees": "operator"}, "assignees"),
        "responders-empty": ("post", "responders", {"responders": []}, "responders"),
        "merge-into-itself": ("post", "merge", {"source": "SELF"}, "source"),
        "merge-foreign": ("post", "merge", {"source": foreign_incident.pk}, "source"),
        "merge-type": ("post", "merge", {"source": "abc"}, "source"),
        "note-empty": ("post", "notes", {"body": ""}, "body"),
        "note-missing": ("post", "notes", {}, "body"),
    }


BAD_INPUT_CASES = [
    "create-no-title",
    "create-title-type",
    "create-unknown-field",
    "create-read-only-field",
    "create-severity",
    "create-priority-type",
    "create-foreign-service",
    "create-foreign-team",
    "create-labels",
    "create-foreign-assignee",
    "patch-severity",
    "patch-foreign-service",
    "patch-status",
    "patch-blank-title",
    "acknowledge-unknown-field",
    "resolve-long-note",
    "snooze-past",
    "snooze-not-a-time",
    "snooze-minutes-type",
    "snooze-too-long",
    "snooze-nothing",
    "snooze-both",
    "reassign-outsider",
    "reassign-type",
    "responders-empty",
    "merge-into-itself",
    "merge-foreign",
    "merge-type",
    "note-empty",
    "note-missing",
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_INPUT_CASES)
def test_bad_input_is_400_problem_naming_the_field(api_as, incident, bad_inputs, case):
    method, action, body, field = bad_inputs[case]
    path = INCIDENTS if action == "" else detail(incident, action or "")
    if body.get("source") == "SELF":
        body = {"source": incident.pk}
    api = api_as("owner")
    incidents_before, ledger_before = Incident.objects.count(), LedgerEntry.objects.count()

    response = getattr(api, method)(path, body, format="json")

    body = assert_problem(response, 400, field)
    assert body["type"].endswith("/validation-error")
    assert (Incident.objects.count(), LedgerEntry.objects.count()) == (incidents_before, ledger_before)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


@pytest.mark.django_db
def test_foreign_ids_read_like_missing_ones(api_as, other_service):
    api = api_as("owner")
    missing = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    foreign = api.post(INCIDENTS, {"title": "x", "service": other_service.pk}, format="json").json()
    unknown = api.post(
        INCIDENTS, {"title": "x", "service": other_service.pk + 1000 + missing}, format="json"
    ).json()

    assert foreign["errors"][0]["message"].replace(str(other_service.pk), "N") == unknown["errors"][0][
        "message"
    ].replace(str(other_service.pk + 1000 + missing), "N")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "on_detail"), [("delete", True), ("put", True), ("delete", False)])
def test_incidents_cannot_be_deleted_or_replaced(api_as, incident, method, on_detail):
    path = detail(incident) if on_detail else INCIDENTS

    response = getattr(api_as("owner"), method)(path, {"title": "x"}, format="json")

    assert_problem(response, 405)
    assert Incident.objects.filter(pk=incident.pk).exists()


# --- the schema --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_documented_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]

    acknowledge = paths["/api/v1/incidents/{id}/acknowledge/"]["post"]
    assert {"200", "403", "404", "409"} <= set(acknowledge["responses"])
    listing = paths["/api/v1/incidents/"]["get"]
    names = {param["name"] for param in listing["parameters"]}
    assert {
        "status",
        "severity",
        "service",
        "team",
        "assignee",
        "sla",
        "q",
        "sort",
        "open",
        "cursor",
    } <= names
    assert set(paths["/api/v1/incidents/{id}/notes/"]) >= {"get", "post"}
    for action in ("resolve", "snooze", "reopen", "escalate", "reassign", "responders", "merge", "timeline"):
        assert f"/api/v1/incidents/{{id}}/{action}/" in paths
    assert {"get", "post"} <= set(paths["/api/v1/services/"])
