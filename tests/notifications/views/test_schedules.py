"""Schedule pages: the list, the two-week timeline in the team's time zone, layers, overrides and
swaps, and who may do what."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.models import LayerParticipant, Schedule, ScheduleLayer, ScheduleOverride, ShiftSwap
from tests.ledger import entries
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["viewer", "operator", "manager"])
def test_members_see_schedules_with_who_is_on_call(client_as, schedule, role):
    page = client_as(role).get("/oncall/")
    assert page.status_code == 200
    assert schedule.name in page.content.decode()


def test_schedule_page_renders_two_weeks_with_gaps(client_as, schedule):
    page = client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/", {"window": "2w"})
    html = page.content.decode()
    assert page.status_code == 200
    # One day line per day, one layer row above the final row.
    assert html.count('class="stl-tick major"') == 14
    assert html.count('class="stl-row"') == 1 and html.count('class="stl-row stl-final"') == 1
    # Weekday 09-17 only: the final row has gaps, hatched; the summary counts them.
    final = html.split('data-row="final"', 1)[1].split('class="stl-overlay"', 1)[0]
    assert final.count('class="tl-seg gap"') == len(page.context["timeline"].gaps) >= 10
    assert f"{len(page.context['timeline'].gaps)} gaps" in html
    assert "New feed URL" in html


def test_other_organizations_schedule_is_not_found(client_as, schedule):
    assert client_as("outsider").get(f"/oncall/schedules/{schedule.pk}/").status_code == 404


def test_manager_creates_a_schedule_and_a_layer(client_as, team, users):
    client = client_as("manager")
    response = client.post("/oncall/", {"name": "Night shift", "team": team.pk, "description": ""})
    schedule = Schedule.objects.get(name="Night shift")
    assert response.status_code == 302 and response["Location"] == f"/oncall/schedules/{schedule.pk}/"
    response = client.post(
        f"/oncall/schedules/{schedule.pk}/layers/new/",
        {
            "name": "Primary",
            "participants": "operator, manager",
            "rotation": "weekly",
            "start_date": "2025-01-06",
            "handoff_time": "09:00",
        },
    )
    assert response.status_code == 302
    layer = schedule.layers.get()
    assert [p.user.username for p in layer.participants.order_by("position")] == ["operator", "manager"]
    assert LedgerEntry.objects.filter(verb="schedule.layer_added", target_id=str(schedule.pk)).exists()


def test_layer_form_refuses_strangers(client_as, schedule, outsider):
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/layers/new/",
        {
            "name": "X",
            "participants": "outsider",
            "rotation": "weekly",
            "start_date": "2025-01-06",
            "handoff_time": "09:00",
        },
    )
    assert response.status_code == 200
    assert "Not members of this organization: outsider" in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 302)])
def test_who_may_create_schedules(client_as, team, role, status):
    response = client_as(role).post("/oncall/", {"name": "S", "team": team.pk})
    assert response.status_code == status
    created = status == 302
    assert Schedule.objects.filter(name="S").exists() is created
    assert entries("schedule.created").exists() is created


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/oncall/schedules/{schedule}/edit/", {"name": "Renamed", "team": "{team}", "description": "x"}),
        ("/oncall/schedules/{schedule}/delete/", {}),
        (
            "/oncall/schedules/{schedule}/layers/new/",
            {"name": "L", "participants": "operator", "rotation": "weekly", "start_date": "2025-01-06",
             "handoff_time": "09:00"},
        ),
        (
            "/oncall/schedules/{schedule}/layers/{layer}/",
            {"name": "Changed", "participants": "manager", "rotation": "daily", "start_date": "2025-01-06",
             "handoff_time": "10:00"},
        ),
        ("/oncall/schedules/{schedule}/layers/{layer}/delete/", {}),
    ],
)  # fmt: skip
def test_operators_change_no_schedule_or_layer(client_as, schedule, team, url, data):
    layer = schedule.layers.get()

    def state():
        return (
            Schedule.objects.values().get(pk=schedule.pk),
            list(ScheduleLayer.objects.values()),
            list(LayerParticipant.objects.order_by("pk").values()),
        )

    before = state()
    ids = {"schedule": schedule.pk, "team": team.pk, "layer": layer.pk}
    data = {key: value.format(**ids) for key, value in data.items()}
    written = entries(prefix="schedule.").count()
    response = client_as("operator").post(url.format(**ids), data)
    assert response.status_code == 403
    assert state() == before
    assert entries(prefix="schedule.").count() == written


def test_override_from_the_page_in_the_team_time_zone(client_as, schedule, users, team):
    team.members.add(users["admin"])  # only team members who can acknowledge take shifts
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Berlin")).date()
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": f"{tomorrow}T18:00",
            "override-ends_at": f"{tomorrow}T23:00",
            "override-note": "covering the evening",
        },
    )
    assert response.status_code == 302
    override = ScheduleOverride.objects.get()
    expected = datetime.combine(tomorrow, time(18), tzinfo=ZoneInfo("Europe/Berlin"))
    assert override.starts_at == expected
    page = client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/").content.decode()
    assert 'data-user="admin" data-source="override"' in page


def test_a_team_member_may_cover_for_a_colleague_but_not_arrange_others(client_as, schedule, users):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    end = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT12:00")
    operator = client_as("operator")  # in the schedule's team
    ok = operator.post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["operator"].pk,
            "override-replaces": users["manager"].pk,
            "override-starts_at": start,
            "override-ends_at": end,
        },
    )
    assert ok.status_code == 302
    refused = operator.post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-replaces": users["manager"].pk,
            "override-starts_at": start,
            "override-ends_at": end,
        },
    )
    assert refused.status_code == 403
    assert ScheduleOverride.objects.count() == 1
    assert entries("schedule.override_created").count() == 1


def test_override_form_reports_bad_ranges(client_as, schedule, users):
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": "2030-01-02T10:00",
            "override-ends_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()


def test_nonexistent_local_time_is_reported(client_as, schedule, users, team):
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/overrides/",
        {
            "override-user": users["admin"].pk,
            "override-starts_at": "2030-03-31T02:30",
            "override-ends_at": "2030-03-31T05:00",
        },
    )
    assert response.status_code == 400
    assert "Europe/Berlin" in response.content.decode()


def test_swap_from_the_page(client_as, schedule, users):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT00:00")
    end = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT00:00")
    response = client_as("manager").post(
        f"/oncall/schedules/{schedule.pk}/swaps/",
        {
            "swap-first_user": users["operator"].pk,
            "swap-second_user": users["manager"].pk,
            "swap-starts_at": start,
            "swap-ends_at": end,
        },
    )
    assert response.status_code == 302
    assert ShiftSwap.objects.count() == 1


def test_schedule_page_query_count_does_not_grow_with_overrides(
    client_as, schedule, users, django_assert_max_num_queries
):
    client = client_as("viewer")
    client.get(f"/oncall/schedules/{schedule.pk}/")
    for n in range(10):
        ScheduleOverride.objects.create(
            organization=schedule.organization,
            schedule=schedule,
            user=users["admin"],
            starts_at=timezone.now() + timedelta(hours=n * 3),
            ends_at=timezone.now() + timedelta(hours=n * 3 + 1),
        )
    with django_assert_max_num_queries(30):
        assert client.get(f"/oncall/schedules/{schedule.pk}/").status_code == 200


def zone_on_another_day() -> str:
    """A time zone whose date is not UTC's right now (with half an hour to spare either way), so a
    page that used UTC's date, or the server's, instead of the team's shows the wrong day."""
    now = timezone.now().astimezone(UTC)
    # Pago Pago (UTC-11) is still on yesterday until 11:00 UTC; Kiritimati (UTC+14) is on tomorrow
    # from 10:00 UTC.
    zone = "Pacific/Pago_Pago" if now.hour * 60 + now.minute < 10 * 60 + 30 else "Pacific/Kiritimati"
    assert now.astimezone(ZoneInfo(zone)).date() != now.date()
    return zone


def test_today_in_team_zone_default(client_as, schedule, team):
    team.time_zone = zone_on_another_day()
    team.save(update_fields=["time_zone"])
    today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
    response = client_as("manager").get(f"/oncall/schedules/{schedule.pk}/layers/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert str(today.year) in html
    # The new layer starts today on the team's calendar, not on UTC's (or the server's).
    start = re.search(r'<input type="date" name="start_date" value="([0-9-]+)"', html)
    assert start is not None and start.group(1) == today.isoformat()


def test_schedule_page_shows_today_and_who_is_on_call_in_the_team_zone(client_as, org, team, users):
    team.time_zone = zone_on_another_day()
    team.save(update_fields=["time_zone"])
    zone = ZoneInfo(team.time_zone)
    today = timezone.now().astimezone(zone).date()
    # Daily shifts handing off at local midnight, from yesterday: the manager has all of today, the
    # operator all of tomorrow (on the team's calendar).
    schedule = make_schedule(
        org,
        team,
        name="Far away",
        layers=[
            {
                "rotation": "daily",
                "start_date": today - timedelta(days=1),
                "handoff_time": time(0),
                "participants": [users["operator"], users["manager"]],
            }
        ],
    )
    html = client_as("viewer").get(f"/oncall/schedules/{schedule.pk}/", {"window": "2w"}).content.decode()
    days = re.findall(r'class="stl-tick major" data-day="([0-9-]+)"', html)
    assert days == [(today + timedelta(days=n)).isoformat() for n in range(14)]
    final = html.split('data-row="final"', 1)[1].split('class="stl-overlay"', 1)[0]
    shifts = re.findall(r'data-user="([^"]*)" data-source="[^"]*" data-start="([^"]+)"', final)
    # Today (on the team's calendar) is the manager's, tomorrow the operator's.
    midnight = datetime.combine(today, time(0), tzinfo=zone)
    assert [(who, datetime.fromisoformat(start)) for who, start in shifts[:2]] == [
        ("manager", midnight),
        ("operator", datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)),
    ]
    assert re.search(r'id="oncall-now">manager<', html)
    assert re.search(r'id="oncall-next">operator<', html)
    # Today's shift ends at the team's next midnight, shown on the team's clock.
    assert f"until {(today + timedelta(days=1)).strftime('%a %-d %b')} 00:00" in html
