"""Heartbeat integrations: pings re-arm the timer, the beat tick opens an incident when they stop, and
the next ping resolves it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.ingest.tasks import check_heartbeats
from incidents.models import Incident, Integration, Status
from tests.incidents.ingest.payloads import heartbeat_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def beat(make_integration):
    return make_integration("heartbeat", heartbeat_period_seconds=300, heartbeat_grace_seconds=60)


def test_creating_starts_the_clock(beat):
    integration, _ = beat
    assert integration.next_check_at > timezone.now() + timedelta(seconds=350)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_ping_rearms_the_timer(client, beat, method):
    integration, key = beat

    response = getattr(client, method)(heartbeat_url(key))

    assert response.status_code == 200 and response.json()["status"] == "ok"
    integration.refresh_from_db()
    assert integration.last_ping_at is not None
    assert integration.next_check_at == integration.last_ping_at + timedelta(seconds=360)
    assert not Incident.objects.exists()


def test_a_missed_heartbeat_opens_an_incident_once_and_a_ping_resolves_it(client, beat):
    integration, key = beat
    later = timezone.now() + timedelta(minutes=7)

    assert check_heartbeats(now=later) == 1
    assert check_heartbeats(now=later + timedelta(minutes=1)) == 0  # the timer was cleared

    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED and "Heartbeat missed" in incident.title
    assert incident.dedup_key == f"heartbeat:{integration.pk}"
    integration.refresh_from_db()
    assert integration.next_check_at is None

    client.post(heartbeat_url(key))

    incident.refresh_from_db()
    integration.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert integration.next_check_at > timezone.now()


def test_a_disabled_heartbeat_is_never_reported(beat):
    integration, _ = beat
    Integration.objects.filter(pk=integration.pk).update(enabled=False)

    assert check_heartbeats(now=timezone.now() + timedelta(hours=1)) == 0


def test_bearer_ping_and_wrong_kind(client, beat, make_integration):
    _, key = beat
    _, other_key = make_integration("pagerduty")

    assert (
        client.get("/api/v1/integrations/heartbeat/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    )
    assert client.get(heartbeat_url(other_key)).status_code == 404
    assert client.put(heartbeat_url(key)).status_code == 405
