"""``/api/v1/incidents/``: reading, every action's effect and ledger entry, refused transitions (409)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Alert, Incident, IncidentNote, Severity, Status
from tests.incidents.api.helpers import (
    INCIDENTS,
    assert_problem,
    detail,
    entries,
)
from tests.incidents.factories import ServiceFactory, SLAPolicyFactory

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
