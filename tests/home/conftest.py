"""A small organization in the state the home page is about: open incidents of several severities
and statuses, one assigned to the operator, SLA clocks run forward, a schedule, a dead letter."""

from datetime import date, time, timedelta

import pytest
from django.db.models import F

from incidents.models import Incident
from incidents.services import incident_acknowledge, incident_create, incident_reassign
from incidents.sla.tick import run_sla_tick
from tests.incidents.factories import ServiceFactory, SLAPolicyFactory
from tests.notifications.conftest import allow_loopback, fast_retries, receiver  # noqa: F401 (fixtures)
from tests.notifications.factories import make_channel, make_policy, make_schedule, step


@pytest.fixture
def service(org, team):
    return ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)


@pytest.fixture
def open_incident(actor_as, service):
    def make(title="Checkout errors above 5%", **kwargs):
        return incident_create(actor=actor_as("operator"), service=service, title=title, **kwargs)

    return make


@pytest.fixture
def sla_policies(org):
    """SEV1: acknowledge within 5 minutes; everything else: 15 (warnings at 80%)."""
    return [
        SLAPolicyFactory(organization=org, name="Default", ack_target_minutes=15),
        SLAPolicyFactory(organization=org, name="SEV1", severity="sev1", ack_target_minutes=5),
    ]


@pytest.fixture
def weekly_schedule(org, team, users):
    """Payments' weekly rota from Monday 2025-01-06 09:00 UTC: operator, then manager."""
    team.time_zone = "UTC"
    team.save(update_fields=["time_zone"])
    return make_schedule(
        org,
        team,
        name="Payments primary",
        layers=[
            {
                "rotation": "weekly",
                "start_date": date(2025, 1, 6),
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
            }
        ],
    )


SLA_INSTANTS = ["created_at", "ack_due_at", "ack_warn_at", "resolve_due_at", "resolve_warn_at", "sla_next_at"]


def backdate(incidents, minutes: int) -> None:
    """As if the incidents had been opened ``minutes`` ago: their SLA instants move back with them."""
    shift = timedelta(minutes=minutes)
    Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(
        **{name: F(name) - shift for name in SLA_INSTANTS}
    )


@pytest.fixture
def busy_org(org, users, actor_as, open_incident, sla_policies):
    """Four open incidents opened 13 minutes ago, the SLA tick run: the SEV1 one breached its 5-minute
    acknowledgement target, the unacknowledged others are at risk (warned at 12 of 15 minutes)."""
    operator = actor_as("operator")
    sev3_old = open_incident("Slow search", severity="sev3")
    sev1 = open_incident("Card payments failing", severity="sev1")
    acked = open_incident("Disk filling on db-2", severity="sev2")
    incident_acknowledge(actor=operator, incident=acked)
    mine = open_incident("Login latency", severity="sev4")
    incident_reassign(actor=operator, incident=mine, assignees=[users["operator"]])
    backdate([sev3_old, sev1, acked, mine], 13)
    run_sla_tick()
    return {"sev3": sev3_old, "sev1": sev1, "acked": acked, "mine": mine}


@pytest.fixture
def webhook(org, service, receiver):  # noqa: F811 (receiver is the imported fixture)
    """A webhook channel to ``receiver`` that the service's policy pages at its first step."""
    channel = make_channel(org, kind="webhook", name="Ops webhook", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    return channel
