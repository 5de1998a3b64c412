"""``/api/v1/escalation-policies/``: steps and attachment, tenancy, capabilities per role."""

import pytest

from audit.models import LedgerEntry
from notifications.models import EscalationPolicy, EscalationStep, ServiceEscalation, StepTarget
from tests.ledger import entries
from tests.notifications.factories import make_channel, make_policy, make_schedule, step

pytestmark = pytest.mark.django_db


def test_create_a_policy_with_steps_and_attach_it(api_as, org, team, users, service):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    channel = make_channel(org, kind="email", recipients=["ops@example.test"]).channel
    response = api_as("manager").post(
        "/api/v1/escalation-policies/",
        {
            "name": "Payments",
            "repeat_count": 2,
            "steps": [
                {
                    "delay_minutes": 5,
                    "targets": [
                        {"type": "schedule", "id": schedule.pk},
                        {"type": "channel", "id": channel.pk},
                    ],
                },
                {"delay_minutes": 10, "round_robin": True, "targets": [{"type": "team", "id": team.pk}]},
            ],
            "services": [service.pk],
            "default_for_teams": [team.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["steps"][0]["targets"] == [
        {"type": "schedule", "id": schedule.pk},
        {"type": "channel", "id": channel.pk},
    ]
    assert body["steps"][1]["round_robin"] is True
    assert body["services"] == [service.pk] and body["default_for_teams"] == [team.pk]
    assert ServiceEscalation.objects.get(service=service).policy_id == body["id"]
    assert LedgerEntry.objects.filter(verb="escalation_policy.created").exists()


def test_policy_targets_in_another_organization_are_unknown(api_as, other_team):
    response = api_as("manager").post(
        "/api/v1/escalation-policies/",
        {"name": "X", "steps": [{"delay_minutes": 5, "targets": [{"type": "team", "id": other_team.pk}]}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("steps.0")


def test_policy_steps_are_replaced_on_update(api_as, org, users):
    policy = make_policy(org, step(("user", users["operator"])))
    response = api_as("manager").patch(
        f"/api/v1/escalation-policies/{policy.pk}/",
        {"steps": [{"delay_minutes": 7, "targets": [{"type": "user", "id": users["admin"].pk}]}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["steps"] == [
        {"delay_minutes": 7, "round_robin": False, "targets": [{"type": "user", "id": users["admin"].pk}]}
    ]


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), ("operator", 200), ("outsider", 404)])
def test_policy_read_by_role(api_as, org, users, role, status):
    policy = make_policy(org, step(("user", users["operator"])))
    assert api_as(role).get(f"/api/v1/escalation-policies/{policy.pk}/").status_code == status


def test_operators_cannot_write_policies(api_as):
    assert (
        api_as("operator").post("/api/v1/escalation-policies/", {"name": "x"}, format="json").status_code
        == 403
    )
    assert not EscalationPolicy.objects.exists()
    assert not entries("escalation_policy.created").exists()


def test_refused_policy_changes_leave_it_as_it_was(api_as, org, users, service):
    policy = make_policy(org, step(("user", users["operator"])), services=[service])

    def state():
        return (
            EscalationPolicy.objects.values().get(pk=policy.pk),
            list(EscalationStep.objects.order_by("pk").values()),
            list(StepTarget.objects.order_by("pk").values()),
            list(ServiceEscalation.objects.values()),
        )

    before, written = state(), entries(prefix="escalation_policy.").count()
    api = api_as("operator")
    patch = {
        "name": "Renamed",
        "steps": [{"delay_minutes": 7, "targets": [{"type": "user", "id": users["admin"].pk}]}],
        "services": [],
    }
    assert api.patch(f"/api/v1/escalation-policies/{policy.pk}/", patch, format="json").status_code == 403
    assert api.delete(f"/api/v1/escalation-policies/{policy.pk}/").status_code == 403
    assert state() == before
    assert entries(prefix="escalation_policy.").count() == written
