"""``/api/v1/monitors/``: status codes per persona, validation as problem+json, pause/resume, results."""

import pytest

from monitoring.models import CheckResult, Monitor
from monitoring.probes.base import ProbeResult
from monitoring.services import record_result
from tests.ledger import verbs

pytestmark = pytest.mark.django_db

MINIMAL = {"name": "homepage", "kind": "http", "target": "https://www.example.com/", "interval_seconds": 30}


def test_create_with_the_minimal_body(api_as, org):
    response = api_as("manager").post("/api/v1/monitors/", MINIMAL, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "pending"
    assert body["flapping"] is False
    assert (body["down_after"], body["up_after"]) == (2, 1)
    monitor = Monitor.objects.get(pk=body["id"])
    assert monitor.organization == org
    assert monitor.next_check_at is not None
    assert verbs(monitor) == ["monitor.created"]


def test_create_with_service_and_assertions(api_as, service):
    response = api_as("admin").post(
        "/api/v1/monitors/",
        {
            **MINIMAL,
            "service": service.pk,
            "down_after": 3,
            "up_after": 2,
            "assertions": {"expected_status": [200], "body_contains": "Welcome", "tls_expiry_days": 14},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    monitor = Monitor.objects.get(pk=response.json()["id"])
    assert (monitor.service_id, monitor.down_after, monitor.up_after) == (service.pk, 3, 2)
    assert monitor.assertions["body_contains"] == "Welcome"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"interval_seconds": 5}, "interval_seconds"),
        ({"kind": "smtp"}, "kind"),
        ({"target": "ftp://example.com/"}, "target"),
        ({"target": "http://169.254.169.254/latest/"}, "target"),
        ({"assertions": {"expected_status": ["ok"]}}, "expected_status"),
        ({"assertions": {"body_regex": "("}}, "body_regex"),
        ({"assertions": {"record_type": "A"}}, "assertions"),
        ({"kind": "tcp", "target": "db.example.com"}, "target"),
        ({"kind": "dns", "target": "example.com", "assertions": {"nameserver": "not-an-ip"}}, "nameserver"),
        ({"kind": "heartbeat", "target": "job", "assertions": {"cron": "61 * * * *"}}, "cron"),
        ({"kind": "heartbeat", "target": "job", "assertions": {}}, "period"),
        ({"down_after": 0}, "down_after"),
        ({"failure_ratio": 0.5}, "failure_ratio"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(api_as, change, field):
    response = api_as("manager").post("/api/v1/monitors/", {**MINIMAL, **change}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert not Monitor.objects.exists()


def test_a_name_is_unique_in_the_organization(api_as):
    api = api_as("manager")
    assert api.post("/api/v1/monitors/", MINIMAL, format="json").status_code == 201
    response = api.post("/api/v1/monitors/", MINIMAL, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "name", "message": "A monitor with this name already exists.", "code": "invalid"}
    ]
    assert Monitor.objects.count() == 1


def test_another_organizations_service_is_refused(api_as, other_org):
    from tests.incidents.factories import ServiceFactory

    foreign = ServiceFactory(organization=other_org, name="Globex API", slug="globex-api")
    response = api_as("manager").post("/api/v1/monitors/", {**MINIMAL, "service": foreign.pk}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["service"]


@pytest.fixture
def monitor(make_monitor):
    return make_monitor(name="api", target="https://api.example.com/")


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("viewer", 200, 403),
        ("operator", 200, 403),
        ("manager", 200, 200),
        ("owner", 200, 200),
        ("outsider", 404, 404),
    ],
)
def test_status_codes_by_persona(api_as, monitor, role, read, write):
    api = api_as(role)
    url = f"/api/v1/monitors/{monitor.pk}/"

    assert api.get(url).status_code == read
    assert api.get(url + "results/").status_code == read
    assert api.patch(url, {"interval_seconds": 60}, format="json").status_code == write
    assert api.post(url + "pause/", {}, format="json").status_code == write
    assert api.post(url + "resume/", {}, format="json").status_code == write
    monitor.refresh_from_db()
    assert monitor.interval_seconds == (60 if write == 200 else 30)
    if role == "outsider":
        assert monitor.pk not in [m["id"] for m in api.get("/api/v1/monitors/").json()["results"]]
    delete = api.delete(url).status_code
    assert delete == (204 if write == 200 else write)
    assert Monitor.objects.filter(pk=monitor.pk).exists() == (write != 200)


def test_viewer_cannot_create(api_as):
    response = api_as("viewer").post("/api/v1/monitors/", MINIMAL, format="json")
    assert response.status_code == 403
    assert not Monitor.objects.exists()


def test_pause_and_resume(api_as, monitor):
    api = api_as("manager")
    url = f"/api/v1/monitors/{monitor.pk}/"

    paused = api.post(url + "pause/", {}, format="json")
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["paused"]) == ("paused", True)
    assert api.post(url + "pause/", {}, format="json").status_code == 200  # already paused: unchanged
    monitor.refresh_from_db()
    assert monitor.next_check_at is None

    resumed = api.post(url + "resume/", {}, format="json")
    assert (resumed.json()["state"], resumed.json()["paused"]) == ("pending", False)
    monitor.refresh_from_db()
    assert monitor.next_check_at is not None
    assert verbs(monitor) == ["monitor.created", "monitor.paused", "monitor.resumed"]
    assert api.post(url + "pause/", {"now": True}, format="json").status_code == 400


def test_results_are_paginated_newest_first(api_as, monitor):
    for i in range(5):
        record_result(monitor.pk, ProbeResult("up", f"check {i}", float(i)))

    first = api_as("viewer").get(f"/api/v1/monitors/{monitor.pk}/results/?page_size=2").json()
    assert [r["message"] for r in first["results"]] == ["check 4", "check 3"]
    second = api_as("viewer").get(first["next"]).json()
    assert [r["message"] for r in second["results"]] == ["check 2", "check 1"]
    assert CheckResult.objects.filter(monitor=monitor).count() == 5


def test_list_filters_by_state(api_as, make_monitor):
    up = make_monitor(name="up one", target="https://a.example.com/")
    make_monitor(name="pending one", target="https://b.example.com/")
    record_result(up.pk, ProbeResult("up", "ok", 1.0))

    listed = api_as("viewer").get("/api/v1/monitors/?state=up").json()["results"]
    assert [m["name"] for m in listed] == ["up one"]


def test_kind_cannot_change(api_as, monitor):
    response = api_as("manager").patch(f"/api/v1/monitors/{monitor.pk}/", {"kind": "tcp"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["kind"]
    monitor.refresh_from_db()
    assert monitor.kind == "http"
