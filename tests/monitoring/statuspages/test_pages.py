"""The operators' pages: list, create in a dialog, components, notices and updates; roles and tenancy."""

import pytest

from monitoring.statuspages import services
from monitoring.statuspages.models import StatusComponent, StatusNotice, StatusPage
from tests.ledger import verbs
from tests.monitoring.statuspages.conftest import set_state

pytestmark = pytest.mark.django_db


def test_list_and_create(client_as, org):
    client = client_as("manager")
    response = client.get("/monitors/status-pages/")
    assert response.status_code == 200
    assert "No status pages yet" in response.content.decode()
    response = client.post(
        "/monitors/status-pages/",
        {"title": "Acme status", "slug": "acme", "published": "on", "subscriptions_enabled": "on"},
    )
    page = StatusPage.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/monitors/status-pages/{page.pk}/"
    assert (page.organization, page.published) == (org, True)
    assert verbs(page) == ["status_page.created"]


def test_a_taken_slug_reopens_the_dialog_with_the_error(client_as, page):
    response = client_as("manager").post("/monitors/status-pages/", {"title": "Other", "slug": "acme"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "This address is taken." in text
    assert 'id="new-page" class="dialog" data-open' in text
    assert StatusPage.objects.count() == 1


def test_detail_shows_components_states_and_notices(client_as, page, components, monitors, actor_as):
    set_state(monitors[0], "down")
    services.notice_open(actor=actor_as("operator"), page=page, title="API errors", body="Investigating.")
    response = client_as("viewer").get(f"/monitors/status-pages/{page.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Major outage" in text and "API errors" in text and "Checkout" in text
    assert "Post incident" not in text and "Add component" not in text  # a viewer reads only


def test_add_component_and_post_incident_and_update(client_as, page, monitors, service):
    manager = client_as("manager")
    response = manager.post(
        f"/monitors/status-pages/{page.pk}/components/",
        {
            "name": "API",
            "group": "Platform",
            "monitors": [monitors[0].pk],
            "services": [service.pk],
            "show_uptime": "on",
        },
    )
    assert response.status_code == 302
    component = StatusComponent.objects.get()
    assert list(component.monitors.all()) == [monitors[0]] and list(component.services.all()) == [service]

    response = manager.post(
        f"/monitors/status-pages/{page.pk}/notices/incident/",
        {
            "title": "Slow API",
            "body": "Requests are slow.",
            "status": "investigating",
            "component_status": "degraded_performance",
            "impact": "minor",
            "components": [component.pk],
            "notify": "on",
        },
    )
    assert response.status_code == 302
    notice = StatusNotice.objects.get()
    assert list(notice.components.all()) == [component]
    response = manager.post(
        f"/monitors/status-pages/notices/{notice.pk}/update/",
        {f"n{notice.pk}-status": "resolved", f"n{notice.pk}-body": "Back to normal."},
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "resolved"
    assert [u.body for u in notice.updates.all()] == ["Back to normal.", "Requests are slow."]
    assert notice.updates.first().notify is False  # the checkbox was not ticked


def test_a_bad_maintenance_form_reopens_its_dialog(client_as, page):
    response = client_as("operator").post(
        f"/monitors/status-pages/{page.pk}/notices/maintenance/",
        {
            "title": "Upgrade",
            "body": "x",
            "scheduled_for": "2026-12-05T10:00",
            "scheduled_until": "2026-12-05T09:00",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="new-maintenance" class="dialog" data-open' in text
    assert "The end must come after the start." in text
    assert not StatusNotice.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"), [("viewer", 403), ("operator", 403), ("manager", 302), ("outsider", 404)]
)
def test_component_writes_by_role(client_as, page, role, expected):
    response = client_as(role).post(f"/monitors/status-pages/{page.pk}/components/", {"name": "API"})
    assert response.status_code == expected
    assert StatusComponent.objects.exists() == (expected == 302)


def test_another_organizations_page_is_404(client_as, page, components):
    outsider = client_as("outsider")
    assert outsider.get(f"/monitors/status-pages/{page.pk}/").status_code == 404
    assert outsider.post(f"/monitors/status-pages/components/{components[0].pk}/delete/").status_code == 404
    assert (
        outsider.post(
            f"/monitors/status-pages/{page.pk}/notices/incident/", {"title": "x", "body": "y"}
        ).status_code
        == 404
    )
    assert outsider.get("/monitors/status-pages/").content.decode().count("Acme status") == 0
    assert StatusComponent.objects.count() == 3


def test_edit_and_delete(client_as, page, components):
    manager = client_as("manager")
    component = components[0]
    prefix = f"c{component.pk}"
    response = manager.post(
        f"/monitors/status-pages/components/{component.pk}/",
        {f"{prefix}-name": "Public API", f"{prefix}-group": "Platform"},
    )
    assert response.status_code == 302
    component.refresh_from_db()
    assert component.name == "Public API" and not component.monitors.exists()
    response = manager.post(f"/monitors/status-pages/{page.pk}/delete/")
    assert response.status_code == 302
    assert not StatusPage.objects.exists() and not StatusComponent.objects.exists()
