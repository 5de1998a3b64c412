"""The demo seed (``opsplatform/devtools/demo/seed_notifications.py``) sets up on-call and
notifications through the services, idempotently."""

import io

import pytest
from django.core.management import call_command

from incidents.models import Service
from notifications.models import Channel, EscalationPolicy, Schedule, ServiceEscalation
from notifications.selectors import channel_secrets
from opsplatform.accounts.models import Organization, User

pytestmark = pytest.mark.django_db


def test_seed_demo_sets_up_paging_idempotently(monkeypatch):
    monkeypatch.setenv("DEMO_WEBHOOK_URL", "https://requestbin.example.com/demo")
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    for org in Organization.objects.all():
        channel = Channel.objects.get(organization=org, name="Ops webhook")
        assert channel_secrets(channel)["url"] == "https://requestbin.example.com/demo"
        schedule = Schedule.objects.get(organization=org, name="Primary on-call")
        assert schedule.layers.count() == 2
        policy = EscalationPolicy.objects.get(organization=org, name="Default paging")
        first = policy.steps.get(position=0)
        assert {t.kind for t in first.targets.all()} == {"schedule", "channel"}
        services = Service.objects.filter(organization=org)
        assert services.exists()
        assert set(
            ServiceEscalation.objects.filter(service__in=services).values_list("policy_id", flat=True)
        ) == {policy.pk}
    assert User.objects.filter(username="acme-operator").exists()
