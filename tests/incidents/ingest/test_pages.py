"""Integration and maintenance pages: who sees what, the key shown once, rules, the mapping console."""

import html
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Integration, MaintenanceWindow, RoutingRule
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.ledger import entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("operator", 200), ("viewer", 403)])
def test_list_by_role(client_as, pd, role, status):
    assert client_as(role).get("/integrations/").status_code == status


def test_list_query_count_does_not_grow_with_integrations(client_as, make_integration):
    client = client_as("operator")
    make_integration("pagerduty", name="one")
    client.get("/integrations/")
    with CaptureQueriesContext(connection) as one:
        client.get("/integrations/")
    for index in range(5):
        make_integration("webhook", name=f"hook {index}")
    with CaptureQueriesContext(connection) as six:
        response = client.get("/integrations/")

    assert response.status_code == 200 and "hook 4" in response.content.decode()
    assert len(six.captured_queries) == len(one.captured_queries)


def test_create_shows_the_key_once(client_as, service):
    client = client_as("manager")
    response = client.post(
        "/integrations/new/",
        {
            "name": "Prod AM",
            "kind": "alertmanager",
            "service": service.pk,
            "enabled": "on",
            "grouping": "on",
            "group_window_seconds": 3600,
            "auto_resolve": "on",
            "heartbeat_grace_seconds": 60,
        },
    )

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    integration = Integration.objects.get()
    key = response.context["issued_key"]
    assert key.startswith("opi_") and key in response.content.decode()
    assert f"/api/v1/integrations/{key}/alertmanager/" in response.content.decode()
    again = client.get(f"/integrations/{integration.pk}/")
    assert key not in again.content.decode()


def test_operators_cannot_create(client_as):
    assert client_as("operator").get("/integrations/new/").status_code == 403


def test_outsiders_get_404(client_as, pd):
    integration, _ = pd
    outsider = client_as("outsider")
    assert outsider.get(f"/integrations/{integration.pk}/").status_code == 404
    assert outsider.post(f"/integrations/{integration.pk}/rotate/").status_code == 404


def test_detail_shows_counters_payloads_and_incidents(client_as, client, pd):
    integration, key = pd
    post(client, "/v2/enqueue", pd_trigger(key))

    operator = client_as("operator")
    page = operator.get(f"/integrations/{integration.pk}/").content.decode()
    events = html.unescape(operator.get(f"/integrations/{integration.pk}/events/").content.decode())

    assert "DISK at 99% on machine prod-datapipe03.example.com" in page  # the open incident
    assert '"source": "prod-datapipe03.example.com"' in events  # the raw payload, pretty-printed
    assert "New incident #" in events


def test_edit_and_rotate(client_as, client, pd):
    integration, old = pd
    manager = client_as("manager")
    edit = manager.post(
        f"/integrations/{integration.pk}/edit/",
        {
            "name": "Renamed",
            "enabled": "on",
            "group_window_seconds": 0,
            "throttle_rate": "60/min",
            "heartbeat_grace_seconds": 60,
        },
    )
    assert edit.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Renamed" and integration.throttle_rate == "60/min"

    rotated = manager.post(f"/integrations/{integration.pk}/rotate/", {"overlap_hours": "0"})
    assert rotated.status_code == 200 and "no-store" in rotated["Cache-Control"]
    new = rotated.context["issued_key"]
    assert post(client, "/v2/enqueue", pd_trigger(old)).status_code == 404
    assert post(client, "/v2/enqueue", pd_trigger(new)).status_code == 202


def test_rules_through_the_pages(client_as, pd, service):
    integration, _ = pd
    manager = client_as("manager")
    for name in ("first", "second"):
        response = manager.post(
            f"/integrations/{integration.pk}/rules/new/",
            {
                "name": name,
                "enabled": "on",
                "matchers": "labels.service = payment\nseverity =~ ^sev[12]$",
                "action": "route",
                "route_service": service.pk,
                "set_severity": "sev1",
                "add_labels": "routed=yes",
            },
        )
        assert response.status_code == 302, response.content
    first, second = RoutingRule.objects.order_by("position")
    assert first.matchers == [
        {"field": "labels.service", "op": "equals", "value": "payment"},
        {"field": "severity", "op": "regex", "value": "^sev[12]$"},
    ]
    assert first.add_labels == {"routed": "yes"}

    manager.post(f"/integrations/rules/{second.pk}/move/up/")
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "second",
        "first",
    ]

    bad = manager.post(
        f"/integrations/{integration.pk}/rules/new/",
        {"name": "x", "matchers": "title ~ y", "action": "route"},
    )
    assert bad.status_code == 400 and "Line 1" in bad.content.decode()

    edit = manager.get(f"/integrations/rules/{first.pk}/edit/")
    assert "labels.service = payment" in edit.content.decode()
    manager.post(f"/integrations/rules/{first.pk}/delete/")
    assert RoutingRule.objects.count() == 1


def test_mapping_console(client_as, make_integration):
    integration, _ = make_integration("webhook", webhook_mapping={"title": "/name", "dedup_key": "/id"})
    client = client_as("operator")

    ok = client.post(
        f"/integrations/{integration.pk}/test-mapping/",
        {"payload": json.dumps({"name": "Queue stuck", "id": "q-7"})},
        HTTP_HX_REQUEST="true",
    )
    missing = client.post(
        f"/integrations/{integration.pk}/test-mapping/",
        {"payload": json.dumps({"x": 1})},
        HTTP_HX_REQUEST="true",
    )
    invalid = client.post(
        f"/integrations/{integration.pk}/test-mapping/", {"payload": "{"}, HTTP_HX_REQUEST="true"
    )
    other = client.post(
        f"/integrations/{integration.pk}/test-mapping/",
        {"payload": json.dumps({"t": "Other"}), "mapping": json.dumps({"title": "/t"})},
        HTTP_HX_REQUEST="true",
    )

    assert "Queue stuck" in ok.content.decode() and "q-7" in ok.content.decode()
    assert "title" in missing.content.decode() and "found nothing" in missing.content.decode()
    assert "Not valid JSON" in invalid.content.decode()
    assert "Other" in other.content.decode()
    assert not Integration.objects.exclude(pk=integration.pk).exists()


def test_maintenance_pages(client_as, service):
    manager = client_as("manager")
    created = manager.post(
        "/maintenance/",
        {
            "name": "Sunday rebuild",
            "service": service.pk,
            "recurrence": "weekly",
            "weekdays": ["6"],
            "start_time": "02:00",
            "duration_minutes": 120,
            "time_zone": "Europe/Berlin",
            "enabled": "on",
        },
    )
    assert created.status_code == 302, created.content
    window = MaintenanceWindow.objects.get()
    assert window.weekdays == [6] and window.time_zone == "Europe/Berlin"

    detail = client_as("operator").get(f"/maintenance/{window.pk}/")
    assert "Every Sun at 02:00 for 120 min, Europe/Berlin" in detail.content.decode()

    manager = client_as("manager")  # one test client: log the manager back in
    once = manager.post(
        f"/maintenance/{window.pk}/",
        {
            "name": "One night",
            "service": service.pk,
            "recurrence": "once",
            "starts_at": "2026-07-01T22:00",
            "ends_at": "2026-07-02T02:00",
            "time_zone": "Europe/Berlin",
            "enabled": "on",
        },
    )
    assert once.status_code == 302
    window.refresh_from_db()
    assert window.starts_at.isoformat() == "2026-07-01T20:00:00+00:00"  # 22:00 CEST

    windows_before = list(MaintenanceWindow.objects.values_list("pk", "name", "starts_at"))
    ledger_before = entries(prefix="maintenance_window.").count()
    assert client_as("operator").post("/maintenance/", {"name": "x"}).status_code == 403
    assert list(MaintenanceWindow.objects.values_list("pk", "name", "starts_at")) == windows_before
    assert entries(prefix="maintenance_window.").count() == ledger_before
    client_as("manager").post(f"/maintenance/{window.pk}/delete/")
    assert not MaintenanceWindow.objects.exists()
