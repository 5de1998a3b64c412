"""The incident list, incident page and service pages: filters that round-trip through the URL,
pagination, what the incident page shows of its alert, and acknowledging as taking the incident."""

import re

import pytest
from django.urls import reverse

from incidents.ingest.services import integration_create
from incidents.models import Incident, Severity, Status
from incidents.services import incident_acknowledge, incident_resolve
from opsplatform.core.actors import Actor
from tests.incidents.factories import IncidentFactory, ServiceFactory
from tests.incidents.ingest.payloads import alertmanager, am_alert, am_url, pd_trigger, post
from tests.ledger import entries

pytestmark = pytest.mark.django_db
HTMX_REGION = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "incident-region"}
LIST = reverse("incidents:list")


def checked(page: str, name: str) -> set[str]:
    """The values of the ticked checkboxes named ``name``."""
    pattern = rf'<input type="checkbox" name="{name}" value="([^"]*)"[^>]*\schecked'
    return set(re.findall(pattern, page))


def row_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="incident-(\d+)"', page)]


@pytest.fixture
def board(open_incident, actor_as):
    operator = actor_as("operator")
    triggered = open_incident(title="Disk full on db-1", severity=Severity.SEV1)
    acknowledged = open_incident(title="Latency on edge", severity=Severity.SEV3)
    incident_acknowledge(actor=operator, incident=acknowledged)
    resolved = open_incident(title="Cert expired", severity=Severity.SEV2)
    incident_resolve(actor=operator, incident=resolved)
    return {"triggered": triggered, "acknowledged": acknowledged, "resolved": resolved}


# --- the list's filters -------------------------------------------------------------------------


def test_without_a_status_the_list_shows_open_incidents_and_ticks_their_chips(client_as, board):
    page = client_as("viewer").get(LIST).content.decode()

    assert checked(page, "status") == {"triggered", "acknowledged", "snoozed"}
    assert set(row_ids(page)) == {board["triggered"].pk, board["acknowledged"].pk}
    assert 'id="status-all" href="?status=" aria-pressed="false"' in page


def test_all_shows_resolved_too(client_as, board):
    page = client_as("viewer").get(LIST + "?status=").content.decode()

    assert checked(page, "status") == set()
    assert set(row_ids(page)) == {b.pk for b in board.values()}
    assert 'aria-pressed="true"' in page


def test_filters_round_trip_through_the_url(client_as, board, service, org, team, users):
    other = ServiceFactory(organization=org, name="Search")
    query = (
        f"?status=acknowledged&status=triggered&severity=sev3&service={service.pk}&service={other.pk}"
        f"&team={team.pk}&assignee={users['operator'].pk}&q=edge&sort=oldest&sla="
    )
    page = client_as("viewer").get(LIST + query).content.decode()

    # The same selections render back, so the form shows what the URL says.
    assert checked(page, "status") == {"acknowledged", "triggered"}
    assert checked(page, "severity") == {"sev3"}
    assert checked(page, "service") == {str(service.pk), str(other.pk)}
    assert checked(page, "team") == {str(team.pk)}
    assert checked(page, "assignee") == {str(users["operator"].pk)}
    assert 'name="q" value="edge"' in page
    assert '<option value="oldest" selected>' in page
    # The acknowledger took the incident, so the assignee filter finds it.
    assert row_ids(page) == [board["acknowledged"].pk]
    # The dropdowns summarise what is ticked.
    assert "Payments API, Search" in page


def test_htmx_filter_answers_the_region_and_keeps_the_url_clean(client_as, board):
    response = client_as("viewer").get(LIST + "?status=resolved", **HTMX_REGION)

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="incident-region"' in body
    assert "<html" not in body
    assert row_ids(body) == [board["resolved"].pk]
    # The region refreshes itself live with the same filters, and the "All" chip follows along.
    assert 'hx-get="/incidents/?status=resolved"' in body
    assert 'id="status-all" href="?status=" aria-pressed="false" hx-swap-oob="true"' in body


def test_list_paginates_keeping_the_filters(client_as, org, service):
    for n in range(53):
        IncidentFactory(organization=org, service=service, title=f"Noisy {n:02d}")
    client = client_as("viewer")

    first = client.get(LIST + "?severity=sev3").content.decode()
    assert len(row_ids(first)) == 50
    assert 'href="?severity=sev3&amp;page=2" rel="next"' in first

    second = client.get(LIST + "?severity=sev3&page=2").content.decode()
    assert len(row_ids(second)) == 3
    assert 'href="?severity=sev3&amp;page=1" rel="prev"' in second
    assert not set(row_ids(first)) & set(row_ids(second))
    # A live refresh of page 2 answers page 2, and its links carry no fragment switch.
    fragment = client.get(LIST + "?severity=sev3&page=2&fragment=inner", HTTP_HX_REQUEST="true")
    assert "fragment" not in fragment.content.decode().split('id="incident-region"')[1]


@pytest.mark.parametrize(
    ("query", "title"),
    [("", "All clear"), ("?severity=sev1", "No incidents match these filters")],
)
def test_empty_states_say_why(client_as, board, actor_as, query, title):
    for incident in (board["triggered"], board["acknowledged"]):
        incident_resolve(actor=actor_as("operator"), incident=incident)

    page = client_as("viewer").get(LIST + query).content.decode()

    assert f'<p class="empty-title">{title}</p>' in page


def test_an_organization_without_incidents_is_told_how_to_get_some(client_as):
    page = client_as("operator").get(LIST).content.decode()

    assert "No incidents yet" in page
    assert f'href="{reverse("incidents:integrations")}"' in page


def test_rows_show_severity_status_people_and_service(client_as, board, users, service):
    page = client_as("operator").get(LIST).content.decode()
    row = page.split(f'id="incident-{board["acknowledged"].pk}"')[1].split("</tr>")[0]

    assert 'class="row-sev3"' in page.split(f'id="incident-{board["acknowledged"].pk}"')[1][:30]
    assert '<span class="sev sev-sev3">SEV3</span>' in row
    assert 'class="badge status-acknowledged"' in row
    assert 'class="pill me"' in row and users["operator"].username in row  # the viewer's own pill
    assert f'href="{reverse("incidents:service_detail", args=[service.pk])}"' in row
    assert "data-relative" in row and "0 minutes ago" not in row


# --- the incident page --------------------------------------------------------------------------


@pytest.fixture
def alertmanager_incident(client, org, service):
    issued = integration_create(
        actor=Actor.system("test", organization=org),
        name="Prometheus prod",
        kind="alertmanager",
        service=service,
    )
    response = post(client, am_url(issued.key), alertmanager(am_alert("aaaa000000000001", team="payments")))
    assert response.status_code == 202, response.content
    return Incident.objects.get(integration=issued.integration), issued.integration


def test_detail_shows_the_alert_source_links_and_labels(client_as, alertmanager_incident):
    incident, integration = alertmanager_incident
    page = client_as("operator").get(reverse("incidents:detail", args=[incident.pk])).content.decode()

    assert (
        f'<a href="{reverse("incidents:integration_detail", args=[integration.pk])}">Prometheus prod</a>'
        in page
    )
    generator = "http://prometheus-0:9090/graph?g0.expr=job%3Acheckout%3Aerror_ratio5m+%3E+0.05&amp;g0.tab=1"
    assert f'<a href="{generator}" target="_blank" rel="noopener noreferrer">Source</a>' in page
    assert (
        '<a href="https://runbooks.example.com/payments/high-error-rate" target="_blank" '
        'rel="noopener noreferrer">Runbook</a>'
    ) in page
    details = page.split('id="alert-details"')[1].split("</table>")[0]
    assert '<th scope="row">namespace</th><td>payments</td>' in details
    assert '<th scope="row">team</th><td>payments</td>' in details
    # Annotations come from the raw payload; summary and description are the title and text already.
    assert ">Annotations<" in details and ">runbook_url<" in details
    assert ">summary<" not in details


def test_viewer_sees_the_source_without_a_link_to_the_console(client_as, alertmanager_incident):
    incident, integration = alertmanager_incident
    page = client_as("viewer").get(reverse("incidents:detail", args=[incident.pk])).content.decode()

    assert "Prometheus prod" in page
    assert reverse("incidents:integration_detail", args=[integration.pk]) not in page


def test_pagerduty_custom_details_are_a_table(client, client_as, org, service):
    issued = integration_create(
        actor=Actor.system("test", organization=org), name="PD bridge", kind="pagerduty", service=service
    )
    assert post(client, "/v2/enqueue", pd_trigger(issued.key)).status_code == 202
    incident = Incident.objects.get(integration=issued.integration)

    page = client_as("viewer").get(reverse("incidents:detail", args=[incident.pk])).content.decode()

    details = page.split('id="alert-details"')[1].split("</table>")[0]
    assert ">Custom details<" in details
    assert '<th scope="row">free space</th><td>1%</td>' in details
    assert '<th scope="row">load avg</th><td>0.75</td>' in details
    assert (
        '<a href="https://monitoring.example.com/hosts/datapipe03"' in page and ">Host overview</a>" in page
    )


def test_detail_links_the_services_runbook(client_as, open_incident, service):
    service.runbook_links = [{"title": "Payments runbook", "url": "https://wiki.example/payments"}]
    service.save(update_fields=["runbook_links"])
    incident = open_incident()

    page = client_as("viewer").get(reverse("incidents:detail", args=[incident.pk])).content.decode()

    runbooks = page.split('id="runbook-links"')[1].split("</ul>")[0]
    assert '<a href="https://wiki.example/payments" target="_blank" rel="noopener noreferrer">' in runbooks


@pytest.mark.parametrize(
    ("status", "visible", "hidden"),
    [
        ("triggered", ["ack-button", "resolve-dialog", "snooze-dialog", "Escalate now"], [">Reopen<"]),
        ("acknowledged", ["resolve-dialog", "snooze-dialog", "Escalate now"], ["ack-button", ">Reopen<"]),
        ("resolved", [">Reopen<"], ["ack-button", "resolve-dialog", "snooze-dialog", "Escalate now"]),
    ],
)
def test_action_bar_offers_what_applies(client_as, open_incident, actor_as, status, visible, hidden):
    incident = open_incident()
    if status == "acknowledged":
        incident_acknowledge(actor=actor_as("manager"), incident=incident)
    elif status == "resolved":
        incident_resolve(actor=actor_as("manager"), incident=incident)

    page = client_as("operator").get(reverse("incidents:detail", args=[incident.pk])).content.decode()

    for text in visible:
        assert text in page
    for text in hidden:
        assert text not in page


# --- acknowledging takes an unowned incident --------------------------------------------------------


def test_acknowledge_assigns_the_acknowledger_when_nobody_is_assigned(open_incident, actor_as, users):
    incident = open_incident()

    incident_acknowledge(actor=actor_as("operator"), incident=incident)

    assert list(incident.assignees.all()) == [users["operator"]]
    entry = entries("incident.acknowledged", target=incident).get()
    assert entry.data["assigned"] == [users["operator"].username]


def test_acknowledge_keeps_existing_assignees(open_incident, actor_as, users):
    incident = open_incident(assignees=[users["manager"]])

    incident_acknowledge(actor=actor_as("operator"), incident=incident)

    assert list(incident.assignees.all()) == [users["manager"]]
    assert "assigned" not in entries("incident.acknowledged", target=incident).get().data


def test_an_integration_acknowledging_assigns_nobody(open_incident, org):
    incident = open_incident()
    integration = integration_create(
        actor=Actor.system("test", organization=org), name="PD", kind="pagerduty"
    ).integration

    incident_acknowledge(actor=Actor.for_integration(integration), incident=incident)

    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert not incident.assignees.exists()


def test_acknowledge_on_the_page_assigns_and_shows_it(client_as, open_incident, users):
    incident = open_incident()
    client = client_as("operator")

    response = client.post(reverse("incidents:action", args=[incident.pk, "acknowledge"]))

    assert response.status_code == 302
    assert list(incident.assignees.all()) == [users["operator"]]
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assignees = page.split('id="incident-assignees"')[1].split("</span></span>")[0]
    assert users["operator"].username in assignees
    assert "acknowledged and took it" in page


def test_acknowledge_through_the_api_assigns(api_as, open_incident, users):
    incident = open_incident()

    response = api_as("operator").post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    assert response.status_code == 200, response.content
    assert [p["id"] for p in response.json()["assignees"]] == [users["operator"].pk]
    assert entries("incident.acknowledged", target=incident).get().data["assigned"] == ["operator"]


# --- service pages ------------------------------------------------------------------------------


def test_service_incidents_tab_paginates(client_as, org, service):
    for n in range(27):
        IncidentFactory(organization=org, service=service, title=f"Flap {n}", status=Status.RESOLVED)
    IncidentFactory(organization=org, service=ServiceFactory(organization=org), title="Elsewhere")
    client = client_as("viewer")
    url = reverse("incidents:service_incidents", args=[service.pk])

    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()

    assert len(row_ids(first)) == 25 and len(row_ids(second)) == 2
    assert 'href="?page=2" rel="next"' in first
    assert "Elsewhere" not in first + second
    assert 'aria-current="page">Incidents</a>' in first


def test_services_list_paginates(client_as, org):
    for n in range(27):
        ServiceFactory(organization=org, name=f"svc-{n:02d}")
    client = client_as("viewer")

    first = client.get(reverse("incidents:services")).content.decode()
    second = client.get(reverse("incidents:services") + "?page=2").content.decode()

    assert "svc-00" in first and "svc-25" not in first
    assert "svc-25" in second and "svc-26" in second
    assert "Page 1 of 2" in first and "27 in all" in first


def test_service_integrations_tab_links_the_console(client_as, org, service):
    integration = integration_create(
        actor=Actor.system("test", organization=org), name="Grafana prod", kind="grafana", service=service
    ).integration
    page = (
        client_as("operator")
        .get(reverse("incidents:service_integrations", args=[service.pk]))
        .content.decode()
    )

    assert (
        f'<a href="{reverse("incidents:integration_detail", args=[integration.pk])}">Grafana prod</a>' in page
    )
    # Its maintenance windows are one click away: the maintenance list filtered to this service.
    maintenance = f"{reverse('incidents:maintenance')}?service={service.pk}"
    assert f'href="{maintenance}"' in page
    assert client_as("operator").get(maintenance).status_code == 200
    # A viewer cannot open integrations: no tab.
    overview = (
        client_as("viewer").get(reverse("incidents:service_detail", args=[service.pk])).content.decode()
    )
    assert reverse("incidents:service_integrations", args=[service.pk]) not in overview
    assert reverse("incidents:maintenance") not in overview
