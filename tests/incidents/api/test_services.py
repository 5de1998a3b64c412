"""``/api/v1/services/``: the catalog through the API, scoped to the caller's organization."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Incident, Service
from tests.incidents.factories import ServiceFactory

SERVICES = "/api/v1/services/"
PROBLEM = "application/problem+json"
EVERYONE = {"owner", "admin", "manager", "operator", "viewer"}
MANAGER_UP = {"owner", "admin", "manager"}


def detail(service) -> str:
    return f"{SERVICES}{service.pk}/"


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    if fields:
        assert set(fields) <= {error["field"] for error in body["errors"]}, body
    return body


def service_entries(service_id, verb: str):
    return LedgerEntry.objects.filter(target_type="incidents.service", target_id=str(service_id), verb=verb)


ENDPOINTS = {
    "list": (EVERYONE, 200),
    "retrieve": (EVERYONE, 200),
    "create": (MANAGER_UP, 201),
    "partial_update": (MANAGER_UP, 200),
    "destroy": (MANAGER_UP, 204),
}


def request_for(name, service):
    return {
        "list": ("get", SERVICES, None),
        "retrieve": ("get", detail(service), None),
        "create": ("post", SERVICES, {"name": "Search"}),
        "partial_update": ("patch", detail(service), {"tier": "tier1"}),
        "destroy": ("delete", detail(service), None),
    }[name]


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(EVERYONE))
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_role_matrix(api_as, service, role, name):
    allowed, success = ENDPOINTS[name]
    method, path, body = request_for(name, service)
    api = api_as(role)
    ledger_before = LedgerEntry.objects.count()

    response = getattr(api, method)(path, body, format="json")

    if role in allowed:
        assert response.status_code == success, response.content
    else:
        assert_problem(response, 403)
        assert LedgerEntry.objects.count() == ledger_before
        assert Service.objects.filter(pk=service.pk, tier="tier3").exists()
        assert not Service.objects.filter(name="Search").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["retrieve", "partial_update", "destroy"])
def test_outsider_gets_404(api_as, service, name):
    method, path, body = request_for(name, service)

    response = getattr(api_as("outsider"), method)(path, body, format="json")

    assert_problem(response, 404)
    assert Service.objects.filter(pk=service.pk, tier="tier3").exists()


@pytest.mark.django_db
def test_list_shows_only_the_callers_services_with_open_incident_counts(
    api_as, service, other_service, open_incident, actor_as
):
    open_incident()
    done = open_incident(title="Old")
    services.incident_resolve(actor=actor_as("owner"), incident=done)
    ServiceFactory(organization=service.organization, name="Auth")

    org_rows = api_as("viewer").get(SERVICES).json()["results"]
    outsider_rows = api_as("outsider").get(SERVICES).json()["results"]

    assert [(row["name"], row["open_incidents"]) for row in org_rows] == [("Auth", 0), ("Payments API", 1)]
    assert [row["id"] for row in outsider_rows] == [other_service.pk]


@pytest.mark.django_db
def test_create_through_the_service(api_as, org, team):
    payload = {
        "name": "Checkout",
        "description": "Cart and payment.",
        "tier": "tier1",
        "owner_team": team.pk,
        "runbook_links": [
            {"title": "Restart", "url": "https://wiki.example.com/restart"},
            {"url": "https://x.io"},
        ],
        "labels": {"component": "web"},
        "default_severity": "sev2",
        "in_maintenance": False,
    }

    response = api_as("manager").post(SERVICES, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    service = Service.objects.get(pk=body["id"])
    assert (service.organization, service.slug, service.owner_team, service.tier) == (
        org,
        "checkout",
        team,
        "tier1",
    )
    assert service.runbook_links == [
        {"title": "Restart", "url": "https://wiki.example.com/restart"},
        {"title": "https://x.io", "url": "https://x.io"},
    ]
    assert body["slug"] == "checkout"
    assert body["open_incidents"] == 0
    assert service_entries(service.pk, "service.created").count() == 1


@pytest.mark.django_db
def test_partial_update_records_the_change(api_as, service):
    response = api_as("manager").patch(
        detail(service), {"in_maintenance": True, "owner_team": None}, format="json"
    )

    assert response.status_code == 200, response.content
    service.refresh_from_db()
    assert (service.in_maintenance, service.owner_team) == (True, None)
    entry = service_entries(service.pk, "service.updated").get()
    assert entry.data["changes"] == {"in_maintenance": True, "owner_team": None}
    assert response.json()["open_incidents"] == 0


@pytest.mark.django_db
def test_destroy_keeps_the_incidents(api_as, service, incident):
    response = api_as("manager").delete(detail(service))

    assert response.status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()
    incident.refresh_from_db()
    assert incident.service is None
    assert service_entries(service.pk, "service.deleted").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "Payments API"}, "name"),  # taken
        ({"name": "X", "slug": "x"}, "slug"),
        ({"name": "X", "owner": 1}, "owner"),
        ({"name": "X", "tier": "gold"}, "tier"),
        ({"name": "X", "default_severity": "high"}, "default_severity"),
        ({"name": "X", "runbook_links": [{"url": "ftp://files.example.com"}]}, "runbook_links.0.url"),
        ({"name": "X", "runbook_links": "https://x.io"}, "runbook_links"),
        ({"name": "X", "labels": ["a"]}, "labels"),
        ({"name": "X", "in_maintenance": "perhaps"}, "in_maintenance"),
        ({"name": "X", "owner_team": "FOREIGN"}, "owner_team"),
    ],
)
def test_bad_input_is_400_problem(api_as, service, other_team, payload, field):
    if payload.get("owner_team") == "FOREIGN":
        payload = {**payload, "owner_team": other_team.pk}
    before = Service.objects.count()

    response = api_as("manager").post(SERVICES, payload, format="json")

    assert_problem(response, 400, field)
    assert Service.objects.count() == before


@pytest.mark.django_db
def test_patch_refuses_a_foreign_team(api_as, service, other_team, team):
    response = api_as("manager").patch(detail(service), {"owner_team": other_team.pk}, format="json")

    assert_problem(response, 400, "owner_team")
    service.refresh_from_db()
    assert service.owner_team == team


@pytest.mark.django_db
def test_list_query_count_does_not_grow(api_as, org, team):
    api = api_as("viewer")
    api.get(SERVICES)

    def listed():
        with CaptureQueriesContext(connection) as queries:
            response = api.get(SERVICES, {"page_size": 100})
        assert response.status_code == 200
        return len(response.json()["results"]), len(queries.captured_queries)

    for n in range(3):
        ServiceFactory(organization=org, owner_team=team, name=f"S{n}")
    rows_three, queries_three = listed()
    for n in range(3, 30):
        service = ServiceFactory(organization=org, owner_team=team, name=f"S{n}")
        Incident.objects.create(organization=org, service=service, title="x")
    rows_thirty, queries_thirty = listed()

    assert (rows_three, rows_thirty) == (3, 30)
    assert queries_three == queries_thirty
