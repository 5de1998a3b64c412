"""Heartbeat integrations are heartbeat monitors: the check tick adopts each one, applies the pings
its old URL records, decides when it is late, and alerts with the integration's own dedup key, so
the old URLs, keys and API keep working and there is one heartbeat per job."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.ingest.services import integration_create
from incidents.ingest.tasks import check_heartbeats
from incidents.models import Incident, Integration, Status
from monitoring.models import CheckResult, Monitor
from monitoring.scheduler import run_check_tick
from opsplatform.core.actors import Actor
from tests.ledger import entries

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy(org, service):
    issued = integration_create(
        actor=Actor.system("test", organization=org),
        name="Nightly backup",
        kind="heartbeat",
        service=service,
        heartbeat_period_seconds=600,
        heartbeat_grace_seconds=60,
    )
    return issued.integration, issued.key


def test_the_tick_adopts_a_heartbeat_integration_once(legacy, service):
    integration, _key = legacy
    run_check_tick()
    run_check_tick()

    monitor = Monitor.objects.get()
    assert (monitor.kind, monitor.name, monitor.service_id) == ("heartbeat", "Nightly backup", service.pk)
    assert monitor.legacy_integration_id == integration.pk
    assert monitor.assertions == {"period": 600, "grace": 60}
    assert monitor.down_after == 1
    integration.refresh_from_db()
    assert integration.next_check_at is None  # the monitor decides when it is late now
    [created] = entries("monitor.created", target=monitor)
    assert created.data["from_integration"] == integration.pk


def test_old_url_pings_drive_the_monitor_and_its_incident(legacy, client, api_as):
    integration, key = legacy
    start = timezone.now()
    run_check_tick(now=start)

    # The old ping URL (key in the path) and the bearer form both still answer as before.
    assert client.get(f"/api/v1/integrations/{key}/heartbeat/").status_code == 200
    assert (
        client.post("/api/v1/integrations/heartbeat/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    )
    integration.refresh_from_db()
    pinged = integration.last_ping_at
    run_check_tick(now=pinged + timedelta(seconds=1))
    monitor = Monitor.objects.get()
    assert (monitor.state, monitor.last_ping_at) == ("up", pinged)
    assert monitor.next_check_at == pinged + timedelta(seconds=660)
    assert CheckResult.objects.filter(monitor=monitor, outcome="up").count() == 1

    # No ping for period + grace: the monitor records the late check and opens the incident with
    # the integration's dedup key; the integration's own tick no longer reports it a second time.
    late = pinged + timedelta(seconds=661)
    run_check_tick(now=late)
    assert check_heartbeats(now=late + timedelta(hours=1)) == 0
    monitor.refresh_from_db()
    assert monitor.state == "down"
    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED
    assert incident.dedup_key == f"heartbeat:{integration.pk}"
    assert incident.alerts.get().integration_id == integration.pk

    # A ping on the old URL resolves it (as it always did) and brings the monitor back up.
    assert client.get(f"/api/v1/integrations/{key}/heartbeat/").status_code == 200
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    integration.refresh_from_db()
    run_check_tick(now=integration.last_ping_at + timedelta(seconds=1))
    monitor.refresh_from_db()
    assert monitor.state == "up"
    assert Incident.objects.count() == 1

    # The integration API still lists and describes it.
    listed = api_as("admin").get("/api/v1/integrations/").json()
    assert [i["name"] for i in listed["results"]] == ["Nightly backup"]


def test_deleting_the_integration_deletes_its_monitor(legacy):
    integration, _key = legacy
    run_check_tick()
    Integration.objects.filter(pk=integration.pk).delete()
    assert not Monitor.objects.exists()
