"""iCal feeds: parsed by an independent implementation (``icalendar``), secret and revocable."""

import itertools
from datetime import UTC, time, timedelta

import icalendar
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from notifications.models import CalendarFeed
from notifications.services.calendar_feeds import calendar_feed_create, calendar_feed_revoke
from opsplatform.accounts.models import Membership, User
from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(org, team, users):
    start = timezone.now().date() - timedelta(days=2)
    return make_schedule(
        org,
        team,
        name='Primary, EU; "night"',
        layers=[
            {
                "rotation": "daily",
                "start_date": start,
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
            }
        ],
    )


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def test_schedule_feed_parses_and_lists_the_shifts(client, actor_as, schedule):
    issued = calendar_feed_create(actor=actor_as("viewer"), schedule=schedule)
    calendar = parse(client.get(issued.path))
    assert str(calendar["X-WR-CALNAME"]).startswith("On call: Primary")
    events = calendar.walk("VEVENT")
    assert len(events) >= 8 * 7  # eight weeks of daily shifts ahead
    people = {str(e["SUMMARY"]).split(" ")[0] for e in events}
    assert people == {"operator", "manager"}
    # TEXT values survive commas, semicolons and quotes (RFC 5545 escaping).
    assert str(events[0]["SUMMARY"]).endswith('(Primary, EU; "night")')
    first, second = sorted(events, key=lambda e: e.decoded("DTSTART"))[:2]
    assert first.decoded("DTEND") == second.decoded("DTSTART")
    assert first.decoded("DTSTART").tzinfo is not None
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_personal_feed_has_only_my_shifts(client, actor_as, users, schedule):
    issued = calendar_feed_create(actor=actor_as("operator"), user=users["operator"])
    events = parse(client.get(issued.path)).walk("VEVENT")
    assert events and all(str(e["SUMMARY"]).startswith("On call: Primary") for e in events)
    # Alternating daily shifts: no two of mine touch.
    starts = sorted(e.decoded("DTSTART").astimezone(UTC) for e in events)
    assert all(b - a >= timedelta(days=2) - timedelta(hours=1) for a, b in itertools.pairwise(starts))


def test_feed_token_is_stored_hashed_and_revocable(client, actor_as, schedule):
    issued = calendar_feed_create(actor=actor_as("viewer"), schedule=schedule)
    feed = CalendarFeed.objects.get()
    assert issued.token not in (feed.token_hash, feed.prefix)
    assert client.get(issued.path).status_code == 200
    calendar_feed_revoke(actor=actor_as("viewer"), feed=feed)
    assert client.get(issued.path).status_code == 404
    assert client.get("/oncall/calendar/ocal_guessed.ics").status_code == 404


def test_a_personal_feed_stops_when_its_owner_leaves(client, actor_as, users, schedule):
    issued = calendar_feed_create(actor=actor_as("operator"), user=users["operator"])
    Membership.objects.filter(user=users["operator"]).delete()
    assert client.get(issued.path).status_code == 404


def test_a_schedule_feed_stops_when_its_maker_leaves_or_is_deactivated(client, actor_as, users, schedule):
    issued = calendar_feed_create(actor=actor_as("viewer"), schedule=schedule)
    assert client.get(issued.path).status_code == 200
    Membership.objects.filter(user=users["viewer"]).delete()
    assert client.get(issued.path).status_code == 404

    kept = calendar_feed_create(actor=actor_as("operator"), schedule=schedule)
    assert client.get(kept.path).status_code == 200
    User.objects.filter(pk=users["operator"].pk).update(is_active=False)
    assert client.get(kept.path).status_code == 404


def test_only_the_owner_makes_a_personal_feed(actor_as, users):
    with pytest.raises(PermissionDenied):
        calendar_feed_create(actor=actor_as("admin"), user=users["operator"])


def test_feed_urls_from_the_pages(client_as, schedule):
    client = client_as("viewer")
    response = client.post(f"/oncall/schedules/{schedule.pk}/feed/")
    html = response.content.decode()
    assert "/oncall/calendar/ocal_" in html
    response = client.post("/settings/notifications/feed/")
    assert "/oncall/calendar/ocal_" in response.content.decode()
