"""Probe locations and quorum: a monitor checked from several places goes down only when enough of
them agree; the agent API leases checks and records results under the location's name, once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident, Status
from monitoring.locations.models import MonitorLocation
from monitoring.locations.services import (
    Report,
    agent_lease,
    agent_report,
    location_create,
    monitor_set_locations,
)
from monitoring.models import CheckResult, Monitor
from monitoring.probes.base import ProbeResult
from monitoring.services import record_result
from tests.ledger import entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def locations(actor_as):
    return {name: location_create(actor=actor_as("manager"), name=name) for name in ("eu-west", "us-east")}


def _report(location, monitor, outcome, message=""):
    [lease] = [lease for lease in agent_lease(location=location) if lease.spec.monitor_id == monitor.pk]
    return agent_report(
        location=location,
        report=Report(monitor.pk, lease.due_at, outcome, timezone.now(), 12.0, message),
    )


def _make_due(monitor):
    MonitorLocation.objects.filter(monitor=monitor, location__isnull=False).update(
        next_check_at=timezone.now() - timedelta(seconds=1), leased_due_at=None
    )


def test_down_only_when_the_quorum_agrees(make_monitor, actor_as, locations, service):
    monitor = make_monitor(name="api", target="https://api.example.com/", down_after=1, service=service)
    monitor_set_locations(
        actor=actor_as("manager"), monitor=monitor, locations=["local", "eu-west", "us-east"], quorum=2
    )
    eu, us = locations["eu-west"].location, locations["us-east"].location
    record_result(monitor.pk, ProbeResult("up", "status 200", 10.0))
    monitor.refresh_from_db()
    assert monitor.state == "up"

    assert _report(eu, monitor, "down", "connection refused")
    monitor.refresh_from_db()
    assert monitor.state == "up"  # one location of three: no quorum
    assert not Incident.objects.exists()

    _make_due(monitor)
    assert _report(us, monitor, "down", "timed out")
    monitor.refresh_from_db()
    assert monitor.state == "down"
    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED
    [changed] = entries("monitor.state_changed", target=monitor, data__to="down")
    assert changed.data["location"] == "us-east"
    assert changed.data["quorum"] == "2 of 3 locations failing (quorum 2)"

    _make_due(monitor)
    assert _report(eu, monitor, "up")
    monitor.refresh_from_db()
    assert monitor.state == "up"  # back below the quorum
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert list(CheckResult.objects.order_by("pk").values_list("location", "outcome")) == [
        ("local", "up"),
        ("eu-west", "down"),
        ("us-east", "down"),
        ("eu-west", "up"),
    ]


def test_a_report_counts_once_and_only_for_its_lease(make_monitor, actor_as, locations):
    monitor = make_monitor(name="api", target="https://api.example.com/")
    monitor_set_locations(actor=actor_as("manager"), monitor=monitor, locations=["eu-west"], quorum=1)
    monitor.refresh_from_db()
    assert monitor.next_check_at is None  # not checked by the built-in scheduler any more
    eu, us = locations["eu-west"].location, locations["us-east"].location
    [lease] = agent_lease(location=eu)
    assert agent_lease(location=eu) == []  # leased: a second agent of the location skips it
    assert agent_lease(location=us) == []  # not placed there
    report = Report(monitor.pk, lease.due_at, "up", timezone.now(), 5.0)

    assert agent_report(location=eu, report=report)
    assert not agent_report(location=eu, report=report)  # repeated
    assert not agent_report(location=us, report=report)  # another location
    assert CheckResult.objects.filter(monitor=monitor).count() == 1
    placement = MonitorLocation.objects.get(monitor=monitor, location=eu)
    assert placement.leased_due_at is None
    assert placement.next_check_at == lease.due_at + timedelta(seconds=monitor.interval_seconds)


def test_a_stale_location_has_no_vote(make_monitor, actor_as, locations):
    monitor = make_monitor(name="api", target="https://api.example.com/", down_after=1)
    monitor_set_locations(
        actor=actor_as("manager"), monitor=monitor, locations=["local", "eu-west"], quorum=1
    )
    eu = locations["eu-west"].location
    assert _report(eu, monitor, "down")
    monitor.refresh_from_db()
    assert monitor.state == "down"
    # The agent stops; long after, local sees it up and the old vote no longer counts.
    MonitorLocation.objects.filter(location=eu).update(last_checked_at=timezone.now() - timedelta(hours=1))
    record_result(monitor.pk, ProbeResult("up", "status 200", 10.0))
    monitor.refresh_from_db()
    assert monitor.state == "up"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locations": ["mars"]}, "locations"),
        ({"locations": ["local"], "quorum": 2}, "quorum"),
        ({"locations": []}, "locations"),
    ],
)
def test_monitor_locations_are_validated(api_as, locations, body, field):
    response = api_as("manager").post(
        "/api/v1/monitors/",
        {"name": "x", "kind": "http", "target": "https://x.example.com/", "interval_seconds": 30, **body},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in str(response.json())
    assert not Monitor.objects.exists()


def test_locations_through_the_api(api_as, org, other_org):
    manager = api_as("manager")
    created = manager.post("/api/v1/probe-locations/", {"name": "eu-west"}, format="json")
    assert created.status_code == 201, created.json()
    token = created.json()["token"]
    assert token.startswith("opa_")
    assert manager.get("/api/v1/probe-locations/").json()["results"][0]["token"] is None
    assert api_as("viewer").post("/api/v1/probe-locations/", {"name": "x"}, format="json").status_code == 403
    assert manager.post("/api/v1/probe-locations/", {"name": "local"}, format="json").status_code == 400

    monitor = manager.post(
        "/api/v1/monitors/",
        {
            "name": "api",
            "kind": "http",
            "target": "https://api.example.com/",
            "interval_seconds": 30,
            "locations": ["local", "eu-west"],
            "quorum": 2,
        },
        format="json",
    )
    assert monitor.status_code == 201, monitor.json()
    assert (monitor.json()["locations"], monitor.json()["quorum"]) == (["local", "eu-west"], 2)

    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    leased = agent.post("/api/v1/probe-agent/lease/", {}, format="json")
    assert leased.status_code == 200
    [check] = leased.json()["checks"]
    assert (check["monitor"], check["kind"], leased.json()["location"]) == (
        monitor.json()["id"],
        "http",
        "eu-west",
    )
    posted = agent.post(
        "/api/v1/probe-agent/results/",
        {
            "results": [
                {
                    **{k: check[k] for k in ("monitor", "due_at")},
                    "started_at": check["due_at"],
                    "outcome": "up",
                }
            ]
        },
        format="json",
    )
    assert posted.json() == {"recorded": 1, "stale": 0}
    bad = agent.post(
        "/api/v1/probe-agent/results/", {"results": [{"monitor": 1, "outcome": "sideways"}]}, format="json"
    )
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/problem+json")

    # A member's API token is not an agent token; a wrong agent token is refused.
    assert manager.post("/api/v1/probe-agent/lease/", {}, format="json").status_code in (401, 403)
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer opa_not-a-token")
    assert stranger.post("/api/v1/probe-agent/lease/", {}, format="json").status_code == 401
    # Another organization cannot see or delete the location.
    location_id = created.json()["id"]
    assert api_as("outsider").delete(f"/api/v1/probe-locations/{location_id}/").status_code == 404
    assert manager.delete(f"/api/v1/probe-locations/{location_id}/").status_code == 204
    assert Monitor.objects.get().location_names == ["local"]
