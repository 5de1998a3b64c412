"""``/api/v1/schedules/``: layers, who is on call across DST, overrides, capabilities per role and
tenancy."""

import pytest
from django.utils import timezone

from notifications.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def layer_payload(users, **overrides):
    return {
        "name": "Primary",
        "rotation": "daily",
        "start_date": "2025-03-01",
        "handoff_time": "09:00",
        "participants": [users["operator"].pk, users["manager"].pk],
        **overrides,
    }


def test_create_a_schedule_with_layers_and_ask_who_is_on_call(api_as, team, users):
    api = api_as("manager")
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    response = api.post(
        "/api/v1/schedules/",
        {"name": "Payments", "team": team.pk, "layers": [layer_payload(users)]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["time_zone"] == "Europe/Berlin"
    assert body["layers"][0]["participants"] == [users["operator"].pk, users["manager"].pk]
    schedule_id = body["id"]

    # 2025-03-30 is the spring change in Berlin: 09:00 CEST is 07:00 UTC.
    before = api.get(f"/api/v1/schedules/{schedule_id}/oncall/", {"at": "2025-03-30T06:59:00Z"}).json()
    after = api.get(f"/api/v1/schedules/{schedule_id}/oncall/", {"at": "2025-03-30T07:00:00Z"}).json()
    assert before["current"]["user"]["username"] != after["current"]["user"]["username"]
    assert after["current"]["start"] == "2025-03-30T07:00:00Z"
    assert after["next"]["start"] == "2025-03-31T07:00:00Z"
    assert after["gaps"] == []


def test_oncall_now_by_default_and_bad_times_are_problems(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    api = api_as("viewer")
    assert (
        api.get(f"/api/v1/schedules/{schedule.pk}/oncall/").json()["current"]["user"]["username"]
        == "operator"
    )
    bad = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "yesterday"})
    assert bad.status_code == 400 and bad["Content-Type"] == PROBLEM
    assert bad.json()["errors"][0]["field"] == "at"
    naive = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2025-01-01T10:00:00"})
    assert naive.status_code == 400


def test_layers_are_replaced_on_update(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    response = api_as("manager").patch(
        f"/api/v1/schedules/{schedule.pk}/",
        {
            "layers": [
                layer_payload(users, name="A"),
                layer_payload(users, name="B", rotation="custom", shift_hours=8),
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [layer["name"] for layer in response.json()["layers"]] == ["A", "B"]
    assert schedule.layers.count() == 2


def test_layer_validation_is_field_level(api_as, team, users, outsider):
    response = api_as("manager").post(
        "/api/v1/schedules/",
        {
            "name": "X",
            "team": team.pk,
            "layers": [
                layer_payload(users, participants=[outsider.pk], restrictions=[{"days": [9], "start": "9"}])
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert any(f.startswith("layers.0.participants") for f in fields)
    assert any(f.startswith("layers.0.restrictions.0") for f in fields)


def test_overrides_through_the_api(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    start = timezone.now() + timezone.timedelta(hours=1)
    payload = {
        "user": users["manager"].pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + timezone.timedelta(hours=2)).isoformat(),
    }
    assert (
        api_as("viewer")
        .post(f"/api/v1/schedules/{schedule.pk}/overrides/", payload, format="json")
        .status_code
        == 403
    )
    assert not ScheduleOverride.objects.exists()
    assert not entries("schedule.override_created").exists()
    created = api_as("manager").post(f"/api/v1/schedules/{schedule.pk}/overrides/", payload, format="json")
    assert created.status_code == 201
    listed = api_as("viewer").get(f"/api/v1/schedules/{schedule.pk}/overrides/").json()
    assert [o["user"] for o in listed] == [users["manager"].pk]


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 201), ("admin", 201)]
)
def test_schedule_create_by_role(api_as, team, role, status):
    response = api_as(role).post("/api/v1/schedules/", {"name": f"S {role}", "team": team.pk}, format="json")
    assert response.status_code == status
    created = status == 201
    assert Schedule.objects.filter(name=f"S {role}").exists() is created
    assert entries("schedule.created").exists() is created


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_refused_schedule_writes_leave_it_as_it_was(api_as, org, team, users, role):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])

    def state():
        return (
            Schedule.objects.values().get(pk=schedule.pk),
            list(ScheduleLayer.objects.values()),
            list(LayerParticipant.objects.order_by("pk").values()),
        )

    before, written = state(), entries(prefix="schedule.").count()
    api = api_as(role)
    patch = {"name": "Renamed", "layers": [layer_payload(users, name="Other")]}
    assert api.patch(f"/api/v1/schedules/{schedule.pk}/", patch, format="json").status_code == 403
    assert api.delete(f"/api/v1/schedules/{schedule.pk}/").status_code == 403
    assert state() == before
    assert entries(prefix="schedule.").count() == written


def test_another_tenants_schedule_is_404(api_as, org, team, users):
    schedule = make_schedule(org, team)
    api = api_as("outsider")
    assert api.get(f"/api/v1/schedules/{schedule.pk}/").status_code == 404
    assert api.get(f"/api/v1/schedules/{schedule.pk}/oncall/").status_code == 404
    assert api.get("/api/v1/schedules/").json()["count"] == 0


def test_foreign_team_reads_as_unknown(api_as, other_team):
    response = api_as("manager").post(
        "/api/v1/schedules/", {"name": "X", "team": other_team.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "team"
