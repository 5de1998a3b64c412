"""Stored schedule rules can never break a read (invariant 14): dates and lengths are refused outside
a sane window on every way in (service, page, API), and what was stored before is skipped by reads."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.escalation import run_escalation_tick
from notifications.models import Notification, Schedule, ScheduleLayer
from notifications.services import schedules as schedule_services
from tests.notifications.factories import make_policy, make_schedule, step, system

pytestmark = pytest.mark.django_db

FAR = ["9999-12-31", "0001-01-01", "1969-12-31", "2200-01-01"]


@pytest.mark.parametrize("start_date", FAR)
def test_the_api_refuses_a_layer_outside_the_window(api_as, team, users, start_date):
    payload = {
        "name": "X",
        "team": team.pk,
        "layers": [
            {
                "name": "Primary",
                "rotation": "daily",
                "start_date": start_date,
                "handoff_time": "09:00",
                "participants": [users["operator"].pk],
            }
        ],
    }
    response = api_as("manager").post("/api/v1/schedules/", payload, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert any("start_date" in e["field"] for e in response.json()["errors"])
    assert not Schedule.objects.filter(name="X").exists()


def test_the_page_refuses_a_layer_outside_the_window(client_as, org, team, users):
    schedule = make_schedule(org, team)
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/layers/new/",
        {
            "name": "Primary",
            "participants": "operator",
            "rotation": "weekly",
            "start_date": "9999-12-31",
            "handoff_time": "23:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["start_date"]
    assert not schedule.layers.exists()
    assert not LedgerEntry.objects.filter(verb="schedule.layer_added").exists()


@pytest.mark.parametrize(("rotation", "shift_hours"), [("custom", 0), ("custom", 673), ("custom", 10**9)])
def test_the_service_refuses_lengths_outside_the_window(org, team, users, rotation, shift_hours):
    schedule = make_schedule(org, team)
    with pytest.raises(ValidationError) as raised:
        schedule_services.layer_save(
            actor=system(org),
            schedule=schedule,
            name="L",
            rotation=rotation,
            shift_hours=shift_hours,
            start_date=date(2025, 1, 6),
            handoff_time=timezone.now().time().replace(microsecond=0),
            participants=[users["operator"]],
        )
    assert "shift_hours" in raised.value.message_dict
    assert not schedule.layers.exists()


def test_rules_stored_before_validation_do_not_break_reads(
    api_as, client_as, org, team, users, service, open_incident
):
    today = timezone.now().date()
    schedule = make_schedule(
        org,
        team,
        layers=[
            {
                "name": "Good",
                "rotation": "daily",
                "start_date": today - timedelta(days=3),
                "participants": [users["operator"]],
            },
            {
                "name": "Broken",
                "rotation": "daily",
                "start_date": today,
                "participants": [users["manager"]],
                "priority": 5,
            },
        ],
    )
    team.time_zone = "America/Los_Angeles"  # 23:00 on 9999-12-31 there is past the end of time in UTC
    team.save(update_fields=["time_zone"])
    ScheduleLayer.objects.filter(schedule=schedule, name="Broken").update(
        start_date=date(9999, 12, 31), handoff_time="23:00"
    )
    response = api_as("viewer").get(f"/api/v1/schedules/{schedule.pk}/oncall/")
    assert response.status_code == 200, response.content
    assert client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/").status_code == 200
    assert client_as("viewer").get("/oncall/").status_code == 200
    # The escalation tick pages from the same schedule: it must not stop either.
    make_policy(org, step(("schedule", schedule)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    assert Notification.objects.filter(incident=incident).exists()


@pytest.mark.parametrize(
    "starts_at", ["9999-12-01T00:00:00Z", "0001-01-01T00:00:00Z", "2199-12-31T12:00:00Z"]
)
def test_the_api_refuses_an_override_outside_the_window(api_as, org, team, users, starts_at):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    start = timezone.datetime.fromisoformat(starts_at)
    payload = {
        "user": users["manager"].pk,
        "starts_at": starts_at,
        "ends_at": (start + timedelta(days=1)).isoformat() if start.year < 9999 else "9999-12-31T00:00:00Z",
    }
    response = api_as("manager").post(f"/api/v1/schedules/{schedule.pk}/overrides/", payload, format="json")
    assert response.status_code == 400, response.content
    assert not schedule.overrides.exists()
