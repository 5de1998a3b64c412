"""``/api/v1/incidents/``: who may do what, tenancy, every action's effect and ledger entry, errors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Alert, Incident, IncidentNote, Severity, Status
from tests.incidents.factories import ServiceFactory, SLAPolicyFactory

INCIDENTS = "/api/v1/incidents/"
PROBLEM = "application/problem+json"
EVERYONE = {"owner", "admin", "manager", "operator", "viewer"}
OPERATOR_UP = EVERYONE - {"viewer"}
ROLES = sorted(EVERYONE)


def detail(incident, action: str = "") -> str:
    return f"{INCIDENTS}{incident.pk}/" + (f"{action}/" if action else "")


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if fields:
        assert set(fields) <= {error["field"] for error in body["errors"]}, body
    return body


def entries(incident, verb: str):
    return LedgerEntry.objects.filter(target_type="incidents.incident", target_id=str(incident.pk), verb=verb)


@pytest.fixture
def owner(actor_as):
    return actor_as("owner")


# --- the role matrix ---------------------------------------------------------------------------
# endpoint -> (roles allowed, success status). Each request is built by ``request_for`` below.
ENDPOINTS = {
    "list": (EVERYONE, 200),
    "retrieve": (EVERYONE, 200),
    "timeline": (EVERYONE, 200),
    "notes": (EVERYONE, 200),
    "create": (OPERATOR_UP, 201),
    "acknowledge": (OPERATOR_UP, 200),
    "snooze": (OPERATOR_UP, 200),
    "add_note": (OPERATOR_UP, 201),
    "resolve": (OPERATOR_UP, 200),
    "reopen": (OPERATOR_UP, 200),
    "partial_update": (OPERATOR_UP, 200),
    "escalate": (OPERATOR_UP, 200),
    "reassign": (OPERATOR_UP, 200),
    "responders": (OPERATOR_UP, 200),
    "merge": (OPERATOR_UP, 200),
}
READS = {"list", "retrieve", "timeline", "notes"}


def request_for(name, *, incident, open_incident, users, owner):
    """(method, path, body) of a valid call of the endpoint against ``incident``."""
    if name == "reopen":
        services.incident_resolve(actor=owner, incident=incident)
    simple = {
        "list": ("get", INCIDENTS, None),
        "retrieve": ("get", detail(incident), None),
        "timeline": ("get", detail(incident, "timeline"), None),
        "notes": ("get", detail(incident, "notes"), None),
        "create": ("post", INCIDENTS, {"title": "Disk full on db-2"}),
        "acknowledge": ("post", detail(incident, "acknowledge"), {}),
        "snooze": ("post", detail(incident, "snooze"), {"minutes": 30}),
        "add_note": ("post", detail(incident, "notes"), {"body": "Rolled back the deploy."}),
        "resolve": ("post", detail(incident, "resolve"), {"note": "Fixed."}),
        "reopen": ("post", detail(incident, "reopen"), {}),
        "partial_update": ("patch", detail(incident), {"severity": Severity.SEV1}),
        "escalate": ("post", detail(incident, "escalate"), {}),
        "reassign": ("post", detail(incident, "reassign"), {"assignees": [users["operator"].pk]}),
        "responders": ("post", detail(incident, "responders"), {"responders": [users["manager"].pk]}),
    }
    if name == "merge":
        return "post", detail(incident, "merge"), {"source": open_incident(title="Duplicate page").pk}
    return simple[name]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_role_matrix(api_as, incident, open_incident, users, owner, role, name):
    allowed, success = ENDPOINTS[name]
    method, path, body = request_for(
        name, incident=incident, open_incident=open_incident, users=users, owner=owner
    )
    api = api_as(role)
    ledger_before = LedgerEntry.objects.count()

    response = getattr(api, method)(path, body, format="json") if body is not None else api.get(path)

    if role in allowed:
        assert response.status_code == success, response.content
        written = LedgerEntry.objects.count() - ledger_before
        assert written == 0 if name in READS else written >= 1
    else:
        assert_problem(response, 403)
        assert LedgerEntry.objects.count() == ledger_before


@pytest.mark.django_db
def test_unauthenticated_is_401_problem(client, incident):
    assert_problem(client.get(INCIDENTS), 401)
    assert_problem(client.post(detail(incident, "acknowledge")), 401)


# --- tenancy -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(set(ENDPOINTS) - {"list", "create"}))
def test_outsider_gets_404_on_every_detail_route(api_as, incident, open_incident, users, owner, name):
    method, path, body = request_for(
        name, incident=incident, open_incident=open_incident, users=users, owner=owner
    )
    status_before = Incident.objects.get(pk=incident.pk).status
    ledger_before = LedgerEntry.objects.filter(organization=incident.organization).count()
    api = api_as("outsider")

    response = getattr(api, method)(path, body, format="json") if body is not None else api.get(path)

    assert_problem(response, 404)
    assert Incident.objects.get(pk=incident.pk).status == status_before
    assert LedgerEntry.objects.filter(organization=incident.organization).count() == ledger_before


@pytest.mark.django_db
def test_outsider_list_shows_only_their_own_organization(api_as, incident, foreign_incident):
    response = api_as("outsider").get(INCIDENTS)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [foreign_incident.pk]


@pytest.mark.django_db
def test_member_cannot_reach_a_foreign_incident(api_as, foreign_incident):
    api = api_as("owner")

    assert_problem(api.get(detail(foreign_incident)), 404)
    assert_problem(api.post(detail(foreign_incident, "resolve"), {}, format="json"), 404)
    foreign_incident.refresh_from_db()
    assert foreign_incident.status == Status.TRIGGERED


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retrieve_shows_people_sla_and_counts(api_as, org, service, users, owner, open_incident):
    SLAPolicyFactory(organization=org, ack_target_minutes=15, resolve_target_minutes=240)
    incident = open_incident(assignees=[users["operator"]])
    services.incident_add_responders(actor=owner, incident=incident, responders=[users["manager"]])
    Alert.objects.create(organization=org, incident=incident, dedup_key="cpu", title="CPU high")
    Alert.objects.create(organization=org, incident=incident, dedup_key="mem", title="Memory high")

    body = api_as("viewer").get(detail(incident)).json()

    incident.refresh_from_db()
    assert body["id"] == incident.pk
    assert body["service"] == service.pk
    assert body["service_name"] == "Payments API"
    assert body["assignees"] == [{"id": users["operator"].pk, "username": "operator"}]
    assert body["responders"] == [{"id": users["manager"].pk, "username": "manager"}]
    assert body["acknowledged_by"] is None
    assert body["merged_into"] is None
    assert body["alert_count"] == 2
    assert body["sla_state"] == "ok"
    assert body["next_deadline"]["kind"] == "acknowledge"
    assert body["next_deadline"]["due_at"] is not None
    assert set(body["allowed_actions"]) >= {"acknowledge", "resolve", "snooze"}


# --- opening and editing -----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_opens_a_triggered_incident(api_as, org, service, team, users):
    payload = {
        "title": "  Checkout latency  ",
        "service": service.pk,
        "severity": Severity.SEV2,
        "priority": "p1",
        "labels": {"region": "eu"},
        "assignees": [users["operator"].pk],
    }

    response = api_as("operator").post(INCIDENTS, payload, format="json")

    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.organization == org
    assert incident.title == "Checkout latency"
    assert incident.status == Status.TRIGGERED
    assert (incident.service, incident.team, incident.severity) == (service, team, Severity.SEV2)
    assert list(incident.assignees.all()) == [users["operator"]]
    assert entries(incident, "incident.triggered").count() == 1
    assert response.json()["team"] == team.pk


@pytest.mark.django_db
def test_partial_update_edits_through_the_service(api_as, incident, org):
    search = ServiceFactory(organization=org, name="Search")

    response = api_as("operator").patch(
        detail(incident), {"title": "Checkout down", "severity": "sev1", "service": search.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    incident.refresh_from_db()
    assert (incident.title, incident.severity, incident.service) == ("Checkout down", "sev1", search)
    entry = entries(incident, "incident.updated").get()
    assert entry.data["changes"] == {"title": "Checkout down", "severity": "sev1", "service": search.pk}
    assert response.json()["service"] == search.pk


# --- state changes -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_acknowledge_then_again_is_a_no_op(api_as, incident, users):
    api = api_as("operator")

    first = api.post(detail(incident, "acknowledge"), format="json")
    second = api.post(detail(incident, "acknowledge"), format="json")

    assert first.status_code == second.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == users["operator"]
    assert incident.next_escalation_at is None
    assert entries(incident, "incident.acknowledged").count() == 1
    assert second.json()["status"] == "acknowledged"
    assert second.json()["acknowledged_by"]["username"] == "operator"
    assert second.json()["updated_at"] == first.json()["updated_at"]


@pytest.mark.django_db
def test_resolve_with_a_note(api_as, incident, users):
    response = api_as("operator").post(detail(incident, "resolve"), {"note": "Rolled back."}, format="json")

    assert response.status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by, incident.resolution_note) == (
        Status.RESOLVED,
        users["operator"],
        "Rolled back.",
    )
    assert entries(incident, "incident.resolved").get().data["note"] == "Rolled back."
    assert response.json()["status"] == "resolved"


@pytest.mark.django_db
def test_snooze_for_minutes(api_as, incident):
    before = timezone.now()

    response = api_as("operator").post(detail(incident, "snooze"), {"minutes": 30}, format="json")

    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.SNOOZED
    assert before + timedelta(minutes=30) <= incident.snoozed_until <= timezone.now() + timedelta(minutes=30)
    assert entries(incident, "incident.snoozed").count() == 1


@pytest.mark.django_db
def test_snooze_until_a_time(api_as, incident):
    until = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)

    response = api_as("operator").post(
        detail(incident, "snooze"), {"until": until.isoformat()}, format="json"
    )

    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.snoozed_until == until
    assert entries(incident, "incident.snoozed").get().data["until"] == until.isoformat()


@pytest.mark.django_db
def test_reopen_a_resolved_incident(api_as, incident, owner):
    services.incident_resolve(actor=owner, incident=incident)

    response = api_as("operator").post(detail(incident, "reopen"), format="json")

    assert response.status_code == 200
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == (Status.TRIGGERED, None)
    assert entries(incident, "incident.reopened").count() == 1


@pytest.mark.django_db
def test_escalate_an_acknowledged_incident(api_as, incident, owner):
    services.incident_acknowledge(actor=owner, incident=incident)

    response = api_as("operator").post(detail(incident, "escalate"), format="json")

    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.next_escalation_at is not None
    assert entries(incident, "incident.escalated").count() == 1


@pytest.mark.django_db
def test_reassign_replaces_the_assignees(api_as, users, open_incident):
    incident = open_incident(assignees=[users["viewer"]])

    response = api_as("operator").post(
        detail(incident, "reassign"), {"assignees": [users["operator"].pk, users["admin"].pk]}, format="json"
    )

    assert response.status_code == 200
    assert set(incident.assignees.values_list("username", flat=True)) == {"operator", "admin"}
    entry = entries(incident, "incident.reassigned").get()
    assert (entry.data["added"], entry.data["removed"]) == (["admin", "operator"], ["viewer"])
    assert {a["username"] for a in response.json()["assignees"]} == {"operator", "admin"}


@pytest.mark.django_db
def test_responders_are_added(api_as, users, incident, owner):
    services.incident_add_responders(actor=owner, incident=incident, responders=[users["admin"]])

    response = api_as("operator").post(
        detail(incident, "responders"), {"responders": [users["manager"].pk]}, format="json"
    )

    assert response.status_code == 200
    assert set(incident.responders.values_list("username", flat=True)) == {"admin", "manager"}
    assert entries(incident, "incident.responders_added").count() == 2


@pytest.mark.django_db
def test_merge_absorbs_the_source(api_as, org, incident, open_incident):
    source = open_incident(title="Checkout 502s")
    Alert.objects.create(organization=org, incident=source, dedup_key="502", title="502s")

    response = api_as("operator").post(detail(incident, "merge"), {"source": source.pk}, format="json")

    assert response.status_code == 200, response.content
    source.refresh_from_db()
    assert (source.status, source.merged_into) == (Status.RESOLVED, incident)
    assert incident.alerts.count() == 1
    assert entries(incident, "incident.merged_in").get().data["source"] == source.pk
    assert entries(source, "incident.merged").count() == 1
    assert response.json()["id"] == incident.pk
    assert response.json()["alert_count"] == 1


@pytest.mark.django_db
def test_notes_are_added_and_listed(api_as, incident, users):
    api = api_as("operator")

    created = api.post(detail(incident, "notes"), {"body": "Paged the DBA."}, format="json")
    listed = api_as("viewer").get(detail(incident, "notes"))

    assert created.status_code == 201
    note = IncidentNote.objects.get(incident=incident)
    assert (note.body, note.author) == ("Paged the DBA.", users["operator"])
    assert created.json() == {
        "id": note.pk,
        "body": "Paged the DBA.",
        "author": {"id": users["operator"].pk, "username": "operator"},
        "created_at": created.json()["created_at"],
    }
    assert entries(incident, "incident.note_added").get().data["note_id"] == note.pk
    assert [n["body"] for n in listed.json()["results"]] == ["Paged the DBA."]


@pytest.mark.django_db
def test_timeline_includes_merged_incidents(api_as, incident, open_incident, owner):
    source = open_incident(title="Duplicate")
    services.incident_acknowledge(actor=owner, incident=source)
    services.incident_merge(actor=owner, target=incident, source=source)

    response = api_as("viewer").get(detail(incident, "timeline"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["sequence"] for row in rows] == sorted(row["sequence"] for row in rows)
    assert {(row["incident"], row["verb"]) for row in rows} == {
        (incident.pk, "incident.triggered"),
        (source.pk, "incident.triggered"),
        (source.pk, "incident.acknowledged"),
        (source.pk, "incident.merged"),
        (incident.pk, "incident.merged_in"),
    }


# --- conflicts and bad input -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("acknowledge", {}),
        ("snooze", {"minutes": 10}),
        ("escalate", {}),
        ("reassign", {"assignees": []}),
    ],
)
def test_invalid_transition_is_409_problem(api_as, incident, owner, action, body):
    services.incident_resolve(actor=owner, incident=incident)
    api = api_as("operator")
    ledger_before = LedgerEntry.objects.count()

    response = api.post(detail(incident, action), body, format="json")

    problem = assert_problem(response, 409)
    assert problem["type"].endswith("/invalid-transition")
    assert "resolved" in problem["detail"]
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert LedgerEntry.objects.count() == ledger_before


@pytest.mark.django_db
def test_editing_a_resolved_incident_is_409(api_as, incident, owner):
    services.incident_resolve(actor=owner, incident=incident)

    response = api_as("operator").patch(detail(incident), {"title": "Renamed"}, format="json")

    assert_problem(response, 409)
    incident.refresh_from_db()
    assert incident.title == "Checkout errors above 5%"


@pytest.mark.django_db
def test_reopening_a_merged_incident_is_409(api_as, incident, open_incident, owner):
    source = open_incident(title="Duplicate")
    services.incident_merge(actor=owner, target=incident, source=source)

    response = api_as("operator").post(detail(source, "reopen"), format="json")

    assert "merged" in assert_problem(response, 409)["detail"]


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
