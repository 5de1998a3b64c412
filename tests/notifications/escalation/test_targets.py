"""Who an escalation step pages: round robin, whoever is on call in a schedule, every member of a
team, the team's default policy, only current members, and personal rules with their delays."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from incidents.services import incident_acknowledge
from notifications import oncall
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import (
    ContactKind,
    ContactMethod,
    EscalationStep,
    Notification,
    NotificationRule,
    NotificationStatus,
)
from opsplatform.accounts.models import Membership
from tests.incidents.factories import ServiceFactory
from tests.notifications.factories import make_policy, make_schedule, step
from tests.notifications.ticks import recipients

MIN = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


def test_round_robin_rotates_who_is_notified(org, users, service, open_incident):
    make_policy(
        org,
        step(
            ("user", users["operator"]),
            ("user", users["manager"]),
            ("user", users["admin"]),
            round_robin=True,
        ),
        services=[service],
    )
    notified = []
    for n in range(4):
        incident = open_incident(title=f"Incident {n}")
        run_escalation_tick(now=incident.next_escalation_at)
        notified += recipients(incident)
    assert notified == ["operator", "manager", "admin", "operator"]
    assert EscalationStep.objects.get().rr_next == 4


def test_schedule_target_pages_whoever_is_on_call_at_the_tick(org, team, users, service, open_incident):
    schedule = make_schedule(
        org,
        team,
        layers=[
            {
                "rotation": "daily",
                "start_date": date(2025, 1, 1),
                "handoff_time": time(0),
                "participants": [users["operator"], users["manager"]],
            }
        ],
    )
    make_policy(org, step(("schedule", schedule)), services=[service])
    incident = open_incident()
    now = incident.next_escalation_at
    expected = oncall.oncall_at(oncall.snapshot(schedule), now)
    run_escalation_tick(now=now)
    assert Notification.objects.get(incident=incident).recipient_id == expected


def test_team_target_pages_every_member(org, team, users, service, open_incident):
    make_policy(org, step(("team", team)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    assert sorted(recipients(incident)) == ["manager", "operator"]


def test_team_default_policy_when_the_service_has_none(org, team, users, open_incident):
    make_policy(org, step(("user", users["admin"])), teams=[team])
    other = ServiceFactory(organization=org, owner_team=team)
    incident = open_incident(service=other)
    run_escalation_tick(now=incident.next_escalation_at)
    assert recipients(incident) == ["admin"]


def test_removed_members_are_not_paged(org, users, service, open_incident):
    make_policy(org, step(("user", users["operator"]), ("user", users["viewer"])), services=[service])
    Membership.objects.filter(user=users["viewer"]).delete()
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    assert recipients(incident) == ["operator"]


def test_personal_rules_delay_and_cancel_after_acknowledge(org, users, service, open_incident, actor_as):
    operator = users["operator"]
    email = ContactMethod.objects.create(
        user=operator, kind=ContactKind.EMAIL, address="o@example.test", verified_at=timezone.now()
    )
    sms = ContactMethod.objects.create(
        user=operator, kind=ContactKind.SMS, address="+4915112345678", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=email, delay_minutes=0)
    NotificationRule.objects.create(user=operator, contact_method=sms, delay_minutes=5)
    make_policy(org, step(("user", operator), delay=30), services=[service])
    incident = open_incident()
    t0 = incident.next_escalation_at
    run_escalation_tick(now=t0)
    rows = {row.medium: row for row in Notification.objects.filter(incident=incident)}
    assert rows["email"].next_attempt_at == t0 and not rows["email"].conditional
    assert rows["sms"].next_attempt_at == t0 + 5 * MIN and rows["sms"].conditional
    incident_acknowledge(actor=actor_as("operator"), incident=incident)
    stats = run_delivery_tick(now=t0 + 6 * MIN)
    rows["sms"].refresh_from_db()
    assert rows["sms"].status == NotificationStatus.CANCELLED
    assert stats.cancelled == 1
