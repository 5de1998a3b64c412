"""The demo seed creates monitors of every kind and heartbeats, once, through the services."""

import io

import pytest
from django.core.management import call_command

from monitoring.models import Monitor
from opsplatform.accounts.models import Organization

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("loopback", [False, True])
def test_seed_demo_adds_monitors_idempotently(settings, loopback):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"] if loopback else []
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    for org in Organization.objects.all():
        monitors = Monitor.objects.filter(organization=org)
        assert set(monitors.values_list("kind", flat=True)) == {"http", "tcp", "dns", "ping", "heartbeat"}
        assert monitors.count() == 9
        backup = monitors.get(name="Nightly backup")
        assert (backup.state, backup.service.name) == ("up", "Payments API")
        own = monitors.get(name="Platform health")
        # Without loopback allowed, the demo's own address is refused by the guard: paused, not paging.
        assert own.paused is not loopback
        assert not monitors.filter(name="example.com", paused=True).exists()
