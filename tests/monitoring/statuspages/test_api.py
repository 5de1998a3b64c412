"""``/api/v1/status-pages/``: CRUD, components, public updates; problem+json errors; roles and tenancy."""

import pytest

from monitoring.models import Monitor
from monitoring.statuspages.models import StatusComponent, StatusNotice, StatusPage
from tests.ledger import verbs
from tests.monitoring.statuspages.conftest import set_state

pytestmark = pytest.mark.django_db


def test_create_with_the_organization_slug_by_default(api_as, org):
    response = api_as("manager").post(
        "/api/v1/status-pages/", {"title": "Acme status", "published": True}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "acme" and body["public_url"].endswith("/status/acme/")
    assert StatusPage.objects.get(pk=body["id"]).organization == org


def test_errors_are_problem_json_with_fields(api_as, page):
    response = api_as("manager").post(
        "/api/v1/status-pages/", {"title": "x", "slug": "acme", "custom_domain": "bad host"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert "slug" in str(body) or "custom_domain" in str(body)
    response = api_as("manager").post("/api/v1/status-pages/", {"title": "x", "bogus": 1}, format="json")
    assert response.status_code == 400 and "bogus" in str(response.json())
    assert StatusPage.objects.count() == 1


def test_components_with_their_state(api_as, page, monitors, service):
    api = api_as("manager")
    response = api.post(
        f"/api/v1/status-pages/{page.pk}/components/",
        {"name": "API", "monitors": [monitors[0].pk], "services": [service.pk], "group": "Platform"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    component_id = response.json()["id"]
    set_state(monitors[0], "down")
    listed = api.get(f"/api/v1/status-pages/{page.pk}/components/").json()
    assert [(c["name"], c["status"]) for c in listed] == [("API", "major_outage")]
    response = api.patch(f"/api/v1/status-components/{component_id}/", {"monitors": []}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "operational"
    assert verbs(StatusComponent.objects.get()) == ["status_component.created", "status_component.updated"]


def test_components_refuse_another_organizations_monitor(api_as, page, other_org):
    foreign = Monitor.objects.create(organization=other_org, name="theirs", kind="tcp", target="x:1")
    response = api_as("manager").post(
        f"/api/v1/status-pages/{page.pk}/components/",
        {"name": "API", "monitors": [foreign.pk]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "monitors" in str(response.json())
    assert not StatusComponent.objects.exists()


def test_post_updates_open_and_continue_a_notice(api_as, page, components):
    operator = api_as("operator")
    response = operator.post(
        f"/api/v1/status-pages/{page.pk}/updates/",
        {
            "title": "Checkout errors",
            "body": "Investigating.",
            "components": [components[2].pk],
            "component_status": "major_outage",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    notice = response.json()
    assert (notice["status"], notice["components"]) == ("investigating", [components[2].pk])
    response = operator.post(
        f"/api/v1/status-pages/{page.pk}/updates/",
        {"notice": notice["id"], "status": "resolved", "body": "Fixed."},
        format="json",
    )
    assert response.status_code == 201
    assert [u["status"] for u in response.json()["updates"]] == ["resolved", "investigating"]
    again = operator.post(
        f"/api/v1/status-pages/{page.pk}/updates/",
        {"notice": notice["id"], "status": "monitoring", "body": "?"},
        format="json",
    )
    assert again.status_code == 400
    assert again["Content-Type"].startswith("application/problem+json")
    listed = api_as("viewer").get(f"/api/v1/status-pages/{page.pk}/updates/").json()
    assert [n["title"] for n in listed] == ["Checkout errors"]


def test_maintenance_through_the_api(api_as, page):
    response = api_as("operator").post(
        f"/api/v1/status-pages/{page.pk}/updates/",
        {
            "kind": "maintenance",
            "title": "DB upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400 and "scheduled_for" in str(response.json())
    response = api_as("operator").post(
        f"/api/v1/status-pages/{page.pk}/updates/",
        {
            "kind": "maintenance",
            "title": "DB upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T10:00:00Z",
            "scheduled_until": "2030-01-01T11:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "scheduled"


@pytest.mark.parametrize(
    ("role", "page_write", "post_update"),
    [("viewer", 403, 403), ("operator", 403, 201), ("manager", 200, 201), ("outsider", 404, 404)],
)
def test_roles_and_tenancy(api_as, page, role, page_write, post_update):
    api = api_as(role)
    assert (
        api.patch(f"/api/v1/status-pages/{page.pk}/", {"title": "Renamed"}, format="json").status_code
        == page_write
    )
    response = api.post(
        f"/api/v1/status-pages/{page.pk}/updates/", {"title": "t", "body": "b"}, format="json"
    )
    assert response.status_code == post_update
    assert StatusNotice.objects.exists() == (post_update == 201)
    read = api.get(f"/api/v1/status-pages/{page.pk}/")
    assert read.status_code == (404 if role == "outsider" else 200)


def test_the_schema_lists_the_endpoints(api_as):
    schema = api_as("viewer").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/status-pages/",
        "/api/v1/status-pages/{id}/",
        "/api/v1/status-pages/{id}/components/",
        "/api/v1/status-pages/{id}/updates/",
        "/api/v1/status-components/{id}/",
    ):
        assert path in schema["paths"], path
