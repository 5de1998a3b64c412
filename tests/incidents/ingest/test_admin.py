"""Admin for integrations: scoped to managed organizations, writes through the services."""

import pytest

from audit.models import LedgerEntry
from incidents.models import Integration
from opsplatform.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_manager(users):
    user = users["manager"]
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    return user


ADD_FORM = {
    "kind": "pagerduty",
    "enabled": "on",
    "grouping": "on",
    "group_window_seconds": 3600,
    "auto_resolve": "on",
    "heartbeat_grace_seconds": 60,
    "webhook_mapping": "{}",
    "hmac_header": "X-Grafana-Alerting-Signature",
    "hmac_timestamp_header": "",
}


def test_manager_creates_through_the_service_and_sees_the_key_once(client, staff_manager, org, service):
    client.force_login(staff_manager)
    response = client.post(
        "/admin/incidents/integration/add/",
        {
            "organization": org.pk,
            "name": "From admin",
            "kind": "pagerduty",
            "service": service.pk,
            "enabled": "on",
            "grouping": "on",
            "group_window_seconds": 3600,
            "auto_resolve": "on",
            "heartbeat_grace_seconds": 60,
            "webhook_mapping": "{}",
            "hmac_header": "X-Grafana-Alerting-Signature",
            "hmac_timestamp_header": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    integration = Integration.objects.get(name="From admin")
    assert LedgerEntry.objects.filter(verb="integration.created", target_id=str(integration.pk)).exists()
    assert "<code>opi_" in response.content.decode()


def test_admin_lists_only_managed_organizations(make_integration, client, staff_manager, other_org):
    make_integration("pagerduty", name="ours")
    make_integration("pagerduty", name="theirs", organization=other_org)
    client.force_login(staff_manager)

    page = client.get("/admin/incidents/integration/").content.decode()

    assert "ours" in page and "theirs" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/incidents/maintenancewindow/add/",
        "/admin/incidents/routingrule/add/",
        "/admin/incidents/integration/add/",
        "/admin/notifications/schedule/",
        "/admin/notifications/escalationpolicy/",
        "/admin/incidents/incident/",
    ],
)
def test_dropdowns_and_filters_name_no_other_organization(
    client, staff_manager, org, service, other_org, other_service, other_team, make_integration, path
):
    """Choices and list filters offer only the managed organizations and what belongs to them."""
    make_integration("pagerduty", name="Globex hook", organization=other_org)
    client.force_login(staff_manager)
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    for foreign in (other_org.name, other_service.name, other_team.name, "Globex hook"):
        assert foreign not in page, f"{foreign!r} offered on {path}"
    if path.endswith("/add/"):
        assert service.name in page  # the managed organization's service is offered


def _messages_cookie(client) -> str:
    cookie = client.cookies.get("messages")
    return cookie.value if cookie else ""


def test_new_key_is_on_the_response_page_never_in_the_messages_cookie(client, staff_manager, org, service):
    client.force_login(staff_manager)
    form = {**ADD_FORM, "organization": org.pk, "service": service.pk, "name": "Hook"}
    response = client.post("/admin/incidents/integration/add/", form)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = response.context["issued"][0].key
    assert key.startswith("opi_") and key in response.content.decode()
    assert key not in _messages_cookie(client)
    integration = Integration.objects.get(name="Hook")
    assert LedgerEntry.objects.filter(verb="integration.created", target_id=str(integration.pk)).count() == 1
    later = client.get("/admin/incidents/integration/").content.decode()
    assert key not in later


def test_rotated_keys_are_on_the_response_page(client, staff_manager, make_integration):
    integration, old_key = make_integration("webhook")
    client.force_login(staff_manager)
    response = client.post(
        "/admin/incidents/integration/", {"action": "rotate_key", "_selected_action": [integration.pk]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = response.context["issued"][0].key
    assert key != old_key and key in response.content.decode()
    assert key not in _messages_cookie(client)
    assert (
        LedgerEntry.objects.filter(verb="integration.key_rotated", target_id=str(integration.pk)).count() == 1
    )
