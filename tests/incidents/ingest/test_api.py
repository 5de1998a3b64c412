"""``/api/v1/integrations/``, ``/api/v1/routing-rules/``, ``/api/v1/maintenance-windows/``: roles,
tenancy, the key shown once, rotation, the mapping test, payloads and suppressed alerts, schema."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.models import Integration, MaintenanceWindow, RoutingRule
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = pytest.mark.django_db
INTEGRATIONS = "/api/v1/integrations/"
RULES = "/api/v1/routing-rules/"
WINDOWS = "/api/v1/maintenance-windows/"
VIEWERS_UP = ["owner", "admin", "manager", "operator", "viewer"]


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 201), ("admin", 201), ("manager", 201), ("operator", 403), ("viewer", 403)],
)
def test_create_by_role_and_the_key_once(api_as, role, status, service):
    response = api_as(role).post(
        INTEGRATIONS,
        {"name": "Prod Alertmanager", "kind": "alertmanager", "service": service.pk},
        format="json",
    )

    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["key"].startswith("opi_") and body["key_url"].endswith("/alertmanager/")
        assert body["key"] in body["key_url"]
        assert response["Cache-Control"] == "no-store"
        listed = api_as(role).get(f"{INTEGRATIONS}{body['id']}/").json()
        assert "key" not in listed and listed["key_prefix"] == body["key"][:10]
        assert LedgerEntry.objects.filter(verb="integration.created").exists()
    else:  # refused: nothing stored, nothing recorded
        assert not Integration.objects.filter(name="Prod Alertmanager").exists()
        assert not LedgerEntry.objects.filter(verb="integration.created").exists()


@pytest.mark.parametrize(("role", "status"), [("operator", 200), ("viewer", 403)])
def test_who_can_read(api_as, pd, role, status):
    assert api_as(role).get(INTEGRATIONS).status_code == status


def test_another_organization_sees_nothing(api_as, pd):
    integration, _ = pd
    outsider = api_as("outsider")
    assert outsider.get(f"{INTEGRATIONS}{integration.pk}/").status_code == 404
    assert outsider.get(INTEGRATIONS).json()["results"] == []
    assert outsider.post(f"{INTEGRATIONS}{integration.pk}/rotate-key/", {}, format="json").status_code == 404


def test_update_and_kind_is_fixed(api_as, pd):
    integration, _ = pd
    api = api_as("manager")

    ok = api.patch(
        f"{INTEGRATIONS}{integration.pk}/", {"throttle_rate": "600/min", "enabled": False}, format="json"
    )
    kind = api.patch(f"{INTEGRATIONS}{integration.pk}/", {"kind": "webhook"}, format="json")
    bad = api.patch(f"{INTEGRATIONS}{integration.pk}/", {"throttle_rate": "lots"}, format="json")

    assert ok.status_code == 200 and ok.json()["enabled"] is False
    assert kind.status_code == 400 and kind.json()["errors"][0]["code"] == "read_only"
    assert bad.status_code == 400
    integration.refresh_from_db()
    assert integration.throttle_rate == "600/min"


def test_validation_errors_name_fields(api_as):
    api = api_as("manager")
    heartbeat = api.post(INTEGRATIONS, {"name": "hb", "kind": "heartbeat"}, format="json")
    mapping = api.post(
        INTEGRATIONS, {"name": "wh", "kind": "webhook", "webhook_mapping": {"title": 5}}, format="json"
    )
    secret = api.post(INTEGRATIONS, {"name": "pd", "kind": "pagerduty", "hmac_secret": "x"}, format="json")

    assert (
        heartbeat.status_code == 400 and heartbeat.json()["errors"][0]["field"] == "heartbeat_period_seconds"
    )
    assert mapping.status_code == 400 and mapping.json()["errors"][0]["field"].startswith("webhook_mapping")
    assert secret.status_code == 400 and secret.json()["errors"][0]["field"] == "hmac_secret"


def test_rotate_key(api_as, client, pd):
    integration, old = pd
    response = api_as("manager").post(
        f"{INTEGRATIONS}{integration.pk}/rotate-key/", {"overlap_hours": 0}, format="json"
    )

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = response.json()["key"]
    assert post(client, "/v2/enqueue", pd_trigger(old)).status_code == 404
    assert post(client, "/v2/enqueue", pd_trigger(new)).status_code == 202


def test_delete_stops_the_key(api_as, client, pd):
    integration, key = pd
    assert api_as("manager").delete(f"{INTEGRATIONS}{integration.pk}/").status_code == 204
    assert post(client, "/v2/enqueue", pd_trigger(key)).status_code == 404


def test_test_mapping(api_as, make_integration):
    integration, _ = make_integration("webhook", webhook_mapping={"title": "/name", "severity": "/level"})
    api = api_as("operator")

    ok = api.post(
        f"{INTEGRATIONS}{integration.pk}/test-mapping/",
        {"payload": {"name": "Down", "level": "critical"}},
        format="json",
    )
    missing = api.post(f"{INTEGRATIONS}{integration.pk}/test-mapping/", {"payload": {"x": 1}}, format="json")
    other = api.post(
        f"{INTEGRATIONS}{integration.pk}/test-mapping/",
        {"payload": {"t": "Up"}, "mapping": {"title": "/t"}},
        format="json",
    )

    assert ok.status_code == 200 and ok.json()["events"][0]["title"] == "Down"
    assert ok.json()["events"][0]["severity"] == "sev1"
    assert missing.json()["errors"][0]["field"] == "title"
    assert other.json()["events"][0]["title"] == "Up"


def test_payloads_and_suppressed(api_as, client, pd):
    integration, key = pd
    post(client, "/v2/enqueue", pd_trigger(key))

    payloads = api_as("operator").get(f"{INTEGRATIONS}{integration.pk}/payloads/")
    suppressed = api_as("operator").get(f"{INTEGRATIONS}{integration.pk}/suppressed/")

    assert payloads.status_code == 200
    assert payloads.json()["results"][0]["result"][0]["outcome"] == "created"
    assert suppressed.status_code == 200 and suppressed.json()["results"] == []


def test_counters_show_pending_events(api_as, client, pd, django_capture_on_commit_callbacks):
    integration, key = pd
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "/v2/enqueue", pd_trigger(key))
        post(client, "/v2/enqueue", pd_trigger(key))

    counters = api_as("operator").get(f"{INTEGRATIONS}{integration.pk}/").json()["counters"]

    assert counters["received"] == 2 and counters["deduplicated"] == 1


# --- routing rules -----------------------------------------------------------------------------


def test_routing_rules_crud_and_order(api_as, pd, service):
    integration, _ = pd
    api = api_as("manager")
    first = api.post(
        RULES,
        {
            "integration": integration.pk,
            "name": "payments",
            "matchers": [{"field": "labels.service", "op": "equals", "value": "payment"}],
            "route_service": service.pk,
            "set_severity": "sev1",
        },
        format="json",
    )
    second = api.post(
        RULES, {"integration": integration.pk, "name": "drop tests", "action": "drop"}, format="json"
    )
    assert first.status_code == 201 and second.status_code == 201, (first.content, second.content)
    assert (first.json()["position"], second.json()["position"]) == (0, 1)

    order = api.post(
        f"{INTEGRATIONS}{integration.pk}/rule-order/",
        {"order": [second.json()["id"], first.json()["id"]]},
        format="json",
    )
    assert order.status_code == 200 and [r["name"] for r in order.json()] == ["drop tests", "payments"]

    listed = api_as("operator").get(RULES, {"integration": integration.pk}).json()["results"]
    assert [r["name"] for r in listed] == ["drop tests", "payments"]

    patched = api.patch(f"{RULES}{first.json()['id']}/", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert api.delete(f"{RULES}{second.json()['id']}/").status_code == 204
    assert RoutingRule.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "matchers": [{"field": "title", "op": "regex", "value": "("}]},
        {"name": "x", "matchers": "labels.x = y"},
        {"name": "x", "action": "explode"},
    ],
)
def test_bad_rules_are_400(api_as, pd, body):
    integration, _ = pd
    response = api_as("manager").post(RULES, {"integration": integration.pk, **body}, format="json")
    assert response.status_code == 400


def test_rules_cannot_point_across_organizations(make_integration, api_as, pd, other_service, other_org):
    integration, _ = pd
    foreign, _ = make_integration("pagerduty", organization=other_org)
    api = api_as("manager")

    to_foreign_service = api.post(
        RULES, {"integration": integration.pk, "name": "x", "route_service": other_service.pk}, format="json"
    )
    on_foreign_integration = api.post(RULES, {"integration": foreign.pk, "name": "x"}, format="json")

    assert to_foreign_service.status_code == 400 and on_foreign_integration.status_code == 400
    assert not RoutingRule.objects.exists()


def test_rule_order_must_list_every_rule(api_as, pd):
    integration, _ = pd
    api = api_as("manager")
    rule = api.post(RULES, {"integration": integration.pk, "name": "one"}, format="json").json()
    response = api.post(
        f"{INTEGRATIONS}{integration.pk}/rule-order/", {"order": [rule["id"], 999999]}, format="json"
    )
    assert response.status_code == 400


# --- maintenance windows -------------------------------------------------------------------------


def test_windows_crud_and_suppressed(api_as, client, pd, service):
    _, key = pd
    api = api_as("manager")
    now = timezone.now()
    created = api.post(
        WINDOWS,
        {
            "name": "DB upgrade",
            "service": service.pk,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    window_id = created.json()["id"]
    assert created.json()["active_now"] is True and created.json()["time_zone"] == "UTC"
    post(client, "/v2/enqueue", pd_trigger(key))

    detail = api_as("operator").get(f"{WINDOWS}{window_id}/").json()
    suppressed = api_as("operator").get(f"{WINDOWS}{window_id}/suppressed/").json()["results"]
    assert detail["suppressed_alerts"] == 1 and suppressed[0]["dedup_key"] == "srv01/HTTP"

    weekly = api.patch(
        f"{WINDOWS}{window_id}/",
        {
            "recurrence": "weekly",
            "weekdays": [6],
            "start_time": "02:00",
            "duration_minutes": 120,
            "time_zone": "Europe/Berlin",
            "starts_at": None,
            "ends_at": None,
        },
        format="json",
    )
    assert weekly.status_code == 200, weekly.content
    assert api.delete(f"{WINDOWS}{window_id}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no scope", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-01T01:00:00Z"},
        {
            "name": "backwards",
            "service": None,
            "matchers": [{"field": "labels.a", "op": "exists"}],
            "starts_at": "2026-01-02T00:00:00Z",
            "ends_at": "2026-01-01T00:00:00Z",
        },
        {
            "name": "weekly without slot",
            "recurrence": "weekly",
            "matchers": [{"field": "labels.a", "op": "exists"}],
        },
        {
            "name": "zone",
            "recurrence": "weekly",
            "weekdays": [1],
            "start_time": "01:00",
            "duration_minutes": 5,
            "time_zone": "Mars/Olympus",
            "matchers": [{"field": "labels.a", "op": "exists"}],
        },
    ],
)
def test_bad_windows_are_400(api_as, body):
    response = api_as("manager").post(WINDOWS, body, format="json")
    assert response.status_code == 400, response.content


def test_operators_cannot_change_windows(api_as, service):
    response = api_as("operator").post(
        WINDOWS,
        {
            "name": "x",
            "service": service.pk,
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2026-01-02T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 403
    assert not MaintenanceWindow.objects.exists()
    assert not LedgerEntry.objects.filter(verb__startswith="maintenance_window.").exists()


# --- schema --------------------------------------------------------------------------------------


def test_schema_documents_the_management_api(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    expected = {
        "/api/v1/integrations/": {"get", "post"},
        "/api/v1/integrations/{id}/": {"get", "patch", "delete"},
        "/api/v1/integrations/{id}/rotate-key/": {"post"},
        "/api/v1/integrations/{id}/rule-order/": {"post"},
        "/api/v1/integrations/{id}/test-mapping/": {"post"},
        "/api/v1/integrations/{id}/payloads/": {"get"},
        "/api/v1/integrations/{id}/suppressed/": {"get"},
        "/api/v1/routing-rules/": {"get", "post"},
        "/api/v1/routing-rules/{id}/": {"get", "patch", "delete"},
        "/api/v1/maintenance-windows/": {"get", "post"},
        "/api/v1/maintenance-windows/{id}/": {"get", "patch", "delete"},
        "/api/v1/maintenance-windows/{id}/suppressed/": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) - {"parameters"} == methods, path
    created = paths["/api/v1/integrations/"]["post"]["responses"]["201"]["content"]["application/json"]
    assert "key" in schema["components"]["schemas"][created["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]


def test_management_and_ingestion_routes_do_not_collide(api_as, client, pd):
    integration, key = pd
    # A numeric id is never an ingestion key, and a key never an id.
    assert api_as("operator").get(f"{INTEGRATIONS}{integration.pk}/").status_code == 200
    assert (
        client.post(
            f"{INTEGRATIONS}{integration.pk}/alertmanager/", "{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert api_as("operator").get(f"{INTEGRATIONS}{key}/").status_code == 404
    assert Integration.objects.count() == 1


def test_lists_filter_by_related_id_and_refuse_garbage(api_as, make_integration, service):
    (first, _), (second, _) = make_integration("pagerduty"), make_integration("webhook", name="other")
    api = api_as("manager")
    for integration in (first, second):
        created = api.post(
            RULES, {"integration": integration.pk, "name": f"r{integration.pk}"}, format="json"
        )
        assert created.status_code == 201, created.content
    only_first = api.get(RULES, {"integration": first.pk}).json()["results"]
    assert [rule["integration"] for rule in only_first] == [first.pk]
    for url, param in ((RULES, "integration"), (WINDOWS, "service")):
        refused = api.get(url, {param: "abc"})
        assert refused.status_code == 400
        assert refused["Content-Type"] == "application/problem+json"
        assert [error["field"] for error in refused.json()["errors"]] == [param]
