"""Escalation policy pages: building a policy step by step, attaching it, and who may change it."""

import pytest

from notifications.models import (
    EscalationPolicy,
    EscalationStep,
    ServiceEscalation,
    StepTarget,
    TeamEscalation,
)
from tests.ledger import entries
from tests.notifications.factories import make_policy, step

pytestmark = pytest.mark.django_db


def test_manager_builds_a_policy_on_the_page(client_as, schedule, service, team, users):
    client = client_as("manager")
    response = client.post("/oncall/policies/", {"name": "Payments paging", "repeat_count": 1})
    policy = EscalationPolicy.objects.get(name="Payments paging")
    assert response.status_code == 302
    response = client.post(
        f"/oncall/policies/{policy.pk}/steps/",
        {"delay_minutes": 10, "schedules": [schedule.pk], "users": [users["admin"].pk]},
    )
    assert response.status_code == 302
    response = client.post(
        f"/oncall/policies/{policy.pk}/attach/", {"services": [service.pk], "default_for_teams": [team.pk]}
    )
    assert response.status_code == 302
    assert ServiceEscalation.objects.get(service=service).policy == policy
    assert TeamEscalation.objects.get(team=team).policy == policy
    page = client.get(f"/oncall/policies/{policy.pk}/").content.decode()
    assert "on call in Primary" in page and "admin" in page


def test_step_needs_a_target(client_as, org):
    policy = make_policy(org, name="Empty")
    response = client_as("manager").post(f"/oncall/policies/{policy.pk}/steps/", {"delay_minutes": 5})
    assert response.status_code == 400
    assert "Pick at least one" in response.content.decode()


def test_operators_cannot_change_policies(client_as, org, users):
    policy = make_policy(org, step(("user", users["operator"])))
    client = client_as("operator")
    assert client.get(f"/oncall/policies/{policy.pk}/").status_code == 200
    assert client.post(f"/oncall/policies/{policy.pk}/steps/", {"delay_minutes": 5}).status_code == 403
    assert client.post(f"/oncall/policies/{policy.pk}/delete/").status_code == 403
    assert EscalationPolicy.objects.filter(pk=policy.pk).exists()
    assert [s.position for s in policy.steps.order_by("position")] == [0]
    assert not entries(prefix="escalation_policy.").exclude(verb="escalation_policy.created").exists()


def test_refused_policy_writes_leave_everything_as_it_was(client_as, org, users, service, team):
    policy = make_policy(org, step(("user", users["operator"])), step(("user", users["manager"])), name="P")
    first = policy.steps.get(position=0)

    def state():
        return (
            EscalationPolicy.objects.values().get(pk=policy.pk),
            list(EscalationStep.objects.order_by("pk").values()),
            list(StepTarget.objects.order_by("pk").values()),
            list(ServiceEscalation.objects.values()),
            list(TeamEscalation.objects.values()),
        )

    before, written = state(), entries(prefix="escalation_policy.").count()
    client = client_as("operator")
    refused = [
        client.post("/oncall/policies/", {"name": "New", "repeat_count": 0}),
        client.post(f"/oncall/policies/{policy.pk}/", {"name": "Renamed", "repeat_count": 3}),
        client.post(
            f"/oncall/policies/{policy.pk}/steps/", {"delay_minutes": 5, "users": [users["admin"].pk]}
        ),
        client.post(f"/oncall/policies/{policy.pk}/steps/{first.pk}/delete/"),
        client.post(
            f"/oncall/policies/{policy.pk}/attach/",
            {"services": [service.pk], "default_for_teams": [team.pk]},
        ),
        client.post(f"/oncall/policies/{policy.pk}/delete/"),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert state() == before
    assert not EscalationPolicy.objects.filter(name="New").exists()
    assert entries(prefix="escalation_policy.").count() == written
