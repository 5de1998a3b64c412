"""SLA clocks stop when an incident ends (resolved, or merged away) whether or not it was
acknowledged; a policy that could break the arithmetic is refused on save, and one already stored
(from before the check) costs its incidents their SLA, never an error."""

import logging
from datetime import time, timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.ingest.services import integration_create
from incidents.models import Incident, SLAPolicy, Status
from incidents.services.sla import sla_policy_save
from incidents.sla.tick import run_sla_tick
from opsplatform.core.actors import Actor
from tests.incidents.factories import SLAPolicyFactory
from tests.incidents.ingest.payloads import post, webhook_url
from tests.incidents.test_admin import staff_as  # noqa: F401  (fixture)
from tests.ledger import verbs


def _age(incident, minutes):
    """Move every clock of the incident ``minutes`` into the past (not the wall clock)."""
    delta = timedelta(minutes=minutes)
    fields = ["ack_due_at", "ack_warn_at", "resolve_due_at", "resolve_warn_at", "sla_next_at"]
    Incident.objects.filter(pk=incident.pk).update(
        **{f: getattr(incident, f) - delta for f in fields if getattr(incident, f)}
    )


def test_resolving_unacknowledged_stops_the_ack_clock(org, open_incident, actor_as):
    SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60)
    incident = open_incident()
    services.incident_resolve(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.sla_next_at is None
    _age(incident, 11)
    run_sla_tick(timezone.now())
    incident.refresh_from_db()
    assert incident.ack_warned_at is None and incident.ack_breached_at is None
    assert verbs(incident, prefix="incident.sla_") == []


def test_merged_source_clocks_stop(org, open_incident, actor_as):
    SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60)
    target, source = open_incident(title="target"), open_incident(title="source")
    services.incident_merge(actor=actor_as("operator"), target=target, source=source)
    source.refresh_from_db()
    assert source.status == Status.RESOLVED and source.sla_next_at is None
    _age(source, 61)
    run_sla_tick(timezone.now())
    source.refresh_from_db()
    assert verbs(source, prefix="incident.sla_") == []
    assert source.ack_breached_at is None and source.resolve_breached_at is None


BAD_POLICIES = [
    {"calendar": "business_hours", "time_zone": "Europe/Berlinn"},
    {"calendar": "business_hours", "time_zone": "../../etc/passwd"},
    {"calendar": "business_hours", "business_days": []},
    {"calendar": "business_hours", "business_days": [7]},
    {"calendar": "24x7", "time_zone": "Mars/Olympus"},
]


@pytest.mark.parametrize("values", BAD_POLICIES)
def test_a_policy_that_cannot_work_is_refused(org, actor_as, values):
    policy = SLAPolicy(organization=org, name="x", ack_target_minutes=5, resolve_target_minutes=60, **values)
    with pytest.raises(Exception) as raised:
        sla_policy_save(actor=actor_as("admin"), policy=policy)
    assert type(raised.value).__name__ == "ValidationError"
    assert not SLAPolicy.objects.exists()


def test_admin_form_shows_the_policy_error(staff_as, org):  # noqa: F811
    response = staff_as("manager").post(
        "/admin/incidents/slapolicy/add/",
        {
            "organization": org.pk,
            "name": "Office",
            "severity": "",
            "ack_target_minutes": 10,
            "resolve_target_minutes": 60,
            "calendar": "business_hours",
            "business_start": "09:00",
            "business_end": "17:00",
            "business_days": "0,1,2",
            "time_zone": "Europe/Berlinn",
            "warning_percent": 80,
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "time zone" in response.content.decode().lower()
    assert not SLAPolicy.objects.exists()


@pytest.fixture(params=BAD_POLICIES[:4])
def broken_policy(request, org):
    """A bad policy stored before policies were checked on save."""
    values = {"business_start": time(9), "business_end": time(17), **request.param}
    return SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60, **values)


def test_a_broken_stored_policy_never_stops_work(
    broken_policy, org, service, open_incident, actor_as, client, client_as, api_as, caplog
):
    with caplog.at_level(logging.WARNING):
        incident = open_incident()
    assert incident.sla_policy is None and incident.sla_next_at is None
    assert any("SLA policy" in r.getMessage() for r in caplog.records)

    issued = integration_create(
        actor=Actor.system("test", organization=org), name="hook", kind="webhook", service=service
    )
    body = {"title": "disk full", "dedup_key": "disk-1"}
    assert post(client, webhook_url(issued.key), body).status_code == 202
    assert Incident.objects.filter(dedup_key="disk-1", sla_policy=None).exists()

    assert client_as("operator").get(f"/incidents/{incident.pk}/").status_code == 200
    assert client_as("operator").get("/incidents/").status_code == 200
    assert api_as("operator").get(f"/api/v1/incidents/{incident.pk}/").status_code == 200

    # An incident that already carries the policy (it was good when the incident opened).
    Incident.objects.filter(pk=incident.pk).update(sla_policy=broken_policy)
    actor = actor_as("operator")
    services.incident_snooze(actor=actor, incident=incident, until=timezone.now() + timedelta(hours=1))
    services.incident_acknowledge(actor=actor, incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
