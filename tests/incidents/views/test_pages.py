import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import LedgerEntry
from incidents.models import Incident, Status
from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.ledger import entries

ROLES = ["owner", "admin", "manager", "operator", "viewer"]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_list_and_detail(client_as, incident, role):
    client = client_as(role)
    assert client.get(reverse("incidents:list")).status_code == 200
    response = client.get(reverse("incidents:detail", args=[incident.pk]))
    assert response.status_code == 200
    assert incident.title in response.content.decode()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 302), ("manager", 302), ("operator", 302), ("viewer", 403)],
)
def test_acknowledge_by_role(client_as, incident, role, expected):
    updated_at = incident.updated_at
    response = client_as(role).post(reverse("incidents:action", args=[incident.pk, "acknowledge"]))
    assert response.status_code == expected
    incident.refresh_from_db()
    assert incident.status == (Status.ACKNOWLEDGED if expected == 302 else Status.TRIGGERED)
    assert entries("incident.acknowledged", target=incident).count() == (1 if expected == 302 else 0)
    if expected == 403:  # refused: the row is untouched
        assert incident.updated_at == updated_at and incident.acknowledged_at is None


def test_viewer_sees_no_action_buttons(client_as, incident):
    page = client_as("viewer").get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert "Acknowledge" not in page
    assert "Resolve" not in page


@pytest.mark.parametrize(
    "url",
    [
        lambda i: reverse("incidents:detail", args=[i.pk]),
        lambda i: reverse("incidents:detail", args=[i.pk]) + "?fragment=inner",
        lambda i: reverse("incidents:service_detail", args=[i.service_id]),
        lambda i: reverse("incidents:service_edit", args=[i.service_id]),
    ],
)
def test_outsider_gets_404_on_object_pages(client_as, incident, url):
    assert client_as("outsider").get(url(incident), **HTMX).status_code == 404


@pytest.mark.parametrize(
    "action",
    [
        "acknowledge",
        "resolve",
        "snooze",
        "reopen",
        "escalate",
        "note",
        "fields",
        "assign",
        "responders",
        "merge",
    ],
)
def test_outsider_gets_404_on_every_action(client_as, incident, action):
    response = client_as("outsider").post(
        reverse("incidents:action", args=[incident.pk, action]), {"minutes": 15}
    )
    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_outsider_list_does_not_show_foreign_rows(client_as, incident, foreign_incident):
    page = client_as("outsider").get(reverse("incidents:list")).content.decode()
    assert foreign_incident.title in page
    assert incident.title not in page


def test_htmx_action_returns_updated_fragment(client_as, incident):
    response = client_as("operator").post(
        reverse("incidents:action", args=[incident.pk, "resolve"]), {"note": "fixed"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Resolved" in body
    assert "<html" not in body  # a fragment, swapped in place
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolution_note == "fixed"


def test_invalid_transition_is_a_clear_message_not_an_error(client_as, incident):
    client = client_as("operator")
    client.post(reverse("incidents:action", args=[incident.pk, "resolve"]))
    response = client.post(reverse("incidents:action", args=[incident.pk, "snooze"]), {"minutes": 15}, **HTMX)
    assert response.status_code == 200
    assert "Cannot snooze an incident that is resolved" in response.content.decode()


def test_bad_form_input_is_a_form_error(client_as, incident):
    response = client_as("operator").post(
        reverse("incidents:action", args=[incident.pk, "snooze"]), {"minutes": "forever"}, **HTMX
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_unknown_action_is_404(client_as, incident):
    assert (
        client_as("operator").post(reverse("incidents:action", args=[incident.pk, "explode"])).status_code
        == 404
    )


def test_note_markdown_is_sanitized(client_as, incident):
    client = client_as("operator")
    client.post(
        reverse("incidents:action", args=[incident.pk, "note"]),
        {"body": "**bold** <script>alert(1)</script> [x](javascript:alert(1))"},
    )
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "javascript:alert" not in page
    assert LedgerEntry.objects.filter(verb="incident.note_added", target_id=str(incident.pk)).exists()


def test_filters_and_shareable_url(client_as, open_incident, actor_as):
    a = open_incident(title="Disk full on db-1", severity="sev1")
    b = open_incident(title="Latency on edge", severity="sev3")
    from incidents.services import incident_acknowledge

    incident_acknowledge(actor=actor_as("operator"), incident=b)
    client = client_as("viewer")
    page = client.get(reverse("incidents:list") + "?status=triggered&severity=sev1").content.decode()
    assert a.title in page and b.title not in page
    page = client.get(reverse("incidents:list") + "?q=latency").content.decode()
    assert b.title in page and a.title not in page
    page = client.get(reverse("incidents:list") + f"?q=%23{a.pk}").content.decode()
    assert a.title in page and b.title not in page


def test_bad_filter_is_a_form_error_not_500(client_as, incident):
    response = client_as("viewer").get(
        reverse("incidents:list") + "?status=exploded&service=abc&sort=sideways"
    )
    assert response.status_code == 200
    assert "status" in response.content.decode()


def test_bulk_acknowledge(client_as, open_incident, foreign_incident):
    a, b = open_incident(title="one"), open_incident(title="two")
    response = client_as("operator").post(
        reverse("incidents:bulk"), {"action": "acknowledge", "ids": [a.pk, b.pk, foreign_incident.pk]}
    )
    assert response.status_code == 302
    assert set(Incident.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {
        "acknowledged"
    }
    foreign_incident.refresh_from_db()
    assert foreign_incident.status == Status.TRIGGERED  # another tenant's id is silently out of scope


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("incidents:list"), **HTMX, data={"fragment": "inner"})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_is_constant(client_as, org, users, service):
    client = client_as("operator")
    actor = Actor.for_member(users["operator"], org)

    def add(n):
        for i in range(n):
            incident = incident_create(actor=actor, service=service, title=f"bulk {i}")
            incident.assignees.set([users["operator"], users["manager"]])

    add(3)
    few = _list_queries(client)
    add(40)
    many = _list_queries(client)
    assert few == many


def test_create_incident_page(client_as, service):
    client = client_as("operator")
    response = client.post(
        reverse("incidents:new"), {"title": "Manual page", "service": service.pk, "priority": "p2"}
    )
    assert response.status_code == 302
    incident = Incident.objects.get(title="Manual page")
    assert incident.service == service and incident.priority == "p2"
    assert client_as("viewer").get(reverse("incidents:new")).status_code == 403


def test_create_incident_rejects_foreign_service(client_as, other_service):
    response = client_as("operator").post(
        reverse("incidents:new"), {"title": "x", "service": other_service.pk, "priority": "p2"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Incident.objects.filter(title="x").exists()


def test_service_pages_and_metrics(client_as, incident, actor_as, service, open_incident):
    from datetime import timedelta

    from incidents.services import incident_acknowledge, incident_resolve

    second = open_incident(title="second")
    for one in (incident, second):
        incident_acknowledge(actor=actor_as("operator"), incident=one)
        incident_resolve(actor=actor_as("operator"), incident=one)
    # Times to acknowledge of 4 and 6 minutes, to resolve of 30 and 90: MTTA 5m, MTTR 1h.
    for one, ack, fix in ((incident, 4, 30), (second, 6, 90)):
        Incident.objects.filter(pk=one.pk).update(
            acknowledged_at=one.created_at + timedelta(minutes=ack),
            resolved_at=one.created_at + timedelta(minutes=fix),
        )
    client = client_as("viewer")
    assert service.name in client.get(reverse("incidents:services")).content.decode()
    page = client.get(reverse("incidents:service_detail", args=[service.pk])).content.decode()
    assert 'id="mtta">5 min<' in page
    assert 'id="mttr">1 h<' in page


@pytest.mark.parametrize(("role", "expected"), [("manager", 302), ("operator", 403), ("viewer", 403)])
def test_service_create_by_role(client_as, role, expected):
    response = client_as(role).post(
        reverse("incidents:service_new"),
        {
            "name": "Search",
            "tier": "tier2",
            "default_severity": "sev2",
            "runbook_links": "Restart | https://wiki.example/r",
        },
    )
    assert response.status_code == expected
    from incidents.models import Service

    assert Service.objects.filter(name="Search").exists() == (expected == 302)
    assert entries("service.created").exists() == (expected == 302)


@pytest.mark.parametrize("action", ["acknowledge", "nonsense"])
@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/incidents/", "/\\evil.example"])
def test_bulk_never_redirects_off_site(client_as, incident, action, back):
    response = client_as("operator").post(
        reverse("incidents:bulk"), {"action": action, "ids": [incident.pk], "back": back}
    )
    assert response.status_code == 302
    assert response.url == reverse("incidents:list")
    incident.refresh_from_db()
    acknowledged = action == "acknowledge"
    assert incident.status == (Status.ACKNOWLEDGED if acknowledged else Status.TRIGGERED)
    assert entries("incident.acknowledged", target=incident).count() == int(acknowledged)


def test_bulk_returns_to_the_filtered_list(client_as, incident):
    back = reverse("incidents:list") + "?status=triggered"
    response = client_as("operator").post(reverse("incidents:bulk"), {"action": "nonsense", "back": back})
    assert response.url == back
