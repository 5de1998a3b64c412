"""Incidents in the admin: scoped to the manager's organizations, read-only rows, and state changes
only through the same services as the pages (so the ledger sees them)."""

import pytest

from audit.models import LedgerEntry
from incidents.models import Incident, Service, Status


@pytest.fixture
def staff_as(client, users, outsider):
    def make(role: str):
        user = outsider if role == "outsider" else users[role]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return make


def test_manager_sees_own_incidents_only(staff_as, incident, foreign_incident):
    response = staff_as("manager").get("/admin/incidents/incident/")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [incident]


def test_foreign_incident_change_page_is_not_reachable(staff_as, foreign_incident):
    response = staff_as("manager").get(f"/admin/incidents/incident/{foreign_incident.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert response.url == "/admin/"


def test_timeline_is_shown_read_only(staff_as, incident):
    page = staff_as("manager").get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "incident.triggered" in page
    assert 'name="title"' not in page  # no editable inputs for the row


def test_admin_action_goes_through_the_service(staff_as, incident, foreign_incident, users):
    response = staff_as("manager").post(
        "/admin/incidents/incident/",
        {"action": "acknowledge", "_selected_action": [incident.pk, foreign_incident.pk]},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    foreign_incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == users["manager"]
    assert foreign_incident.status == Status.TRIGGERED
    assert LedgerEntry.objects.filter(verb="incident.acknowledged", target_id=str(incident.pk)).count() == 1


def test_operator_staff_cannot_use_admin(staff_as, incident):
    assert staff_as("operator").get("/admin/incidents/incident/").status_code == 403


def test_service_saved_in_admin_writes_ledger(staff_as, org, team):
    response = staff_as("manager").post(
        "/admin/incidents/service/add/",
        {
            "organization": org.pk,
            "name": "Billing",
            "description": "",
            "tier": "tier2",
            "owner_team": team.pk,
            "default_severity": "sev2",
            "runbook_links": "[]",
            "labels": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    service = Service.objects.get(name="Billing")
    assert LedgerEntry.objects.filter(verb="service.created", target_id=str(service.pk)).exists()


def test_incident_rows_cannot_be_deleted_in_admin(staff_as, incident):
    staff_as("manager").post(f"/admin/incidents/incident/{incident.pk}/delete/", {"post": "yes"})
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_incident_change_page_cannot_save_the_row(staff_as, incident):
    client = staff_as("manager")
    assert client.get(f"/admin/incidents/incident/{incident.pk}/change/").status_code == 200
    before = Incident.objects.filter(pk=incident.pk).values().get()
    response = client.post(f"/admin/incidents/incident/{incident.pk}/change/", {"_save": "Save"})
    assert response.status_code == 403
    assert Incident.objects.filter(pk=incident.pk).values().get() == before
    assert (
        LedgerEntry.objects.filter(target_id=str(incident.pk)).exclude(verb="incident.triggered").count() == 0
    )
