"""On-call load in each responder's own time zone, across daylight-saving changes (conftest.py)."""

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from opsplatform.analytics.models import OnCallRollup
from opsplatform.analytics.periods import BUSINESS, OFF_HOURS, SLEEP, period_of
from opsplatform.analytics.selectors import oncall
from opsplatform.analytics.selectors.filters import Filters
from opsplatform.analytics.services.timezones import zone

pytestmark = pytest.mark.django_db
BERLIN, NEW_YORK = zone("Europe/Berlin"), zone("America/New_York")


def filters(org, start, end, **kwargs):
    return Filters(organization_id=org.pk, time_zone="UTC", start=start, end=end, **kwargs)


@pytest.mark.parametrize(
    ("instant", "tz", "period"),
    [
        ("2026-03-29T00:30:00", BERLIN, SLEEP),  # 01:30 CET, before the change
        ("2026-03-29T06:30:00", BERLIN, OFF_HOURS),  # 08:30 CEST on a Sunday (07:30 under the old offset)
        ("2026-03-30T06:30:00", BERLIN, BUSINESS),  # 08:30 CEST Monday
        ("2026-03-30T16:30:00", BERLIN, OFF_HOURS),  # 18:30 CEST Monday (17:30 under the old offset)
        ("2026-11-01T05:30:00", NEW_YORK, SLEEP),  # 01:30 EDT, the first of the two 01:30s
        ("2026-11-02T12:30:00", NEW_YORK, SLEEP),  # 07:30 EST (08:30 under the old offset)
        ("2026-11-02T22:30:00", NEW_YORK, BUSINESS),  # 17:30 EST (18:30 under the old offset)
        ("2026-11-07T13:00:00", NEW_YORK, OFF_HOURS),  # Saturday 08:00 EST: weekend daytime
        ("2026-11-06T23:00:00", NEW_YORK, OFF_HOURS),  # Friday 18:00 EST
        ("2026-11-07T03:00:00", NEW_YORK, SLEEP),  # Friday 22:00 EST
    ],
)
def test_each_interruption_lands_in_the_period_of_the_responders_clock(instant, tz, period):
    assert period_of(datetime.fromisoformat(instant).replace(tzinfo=UTC), tz) == period


def test_load_per_responder(org, world):
    rows = {
        row["responder"]: row
        for row in oncall.load(filters(org, date(2026, 3, 1), date(2026, 11, 30)), timezone.now())
    }

    berit, nolan = rows["berit"], rows["nolan"]
    # The escalation of I2 (13:10 CET Monday: business) plus the five of the DST weekend.
    assert (berit["interruptions"], berit["business"], berit["off_hours"], berit["sleep"]) == (6, 2, 2, 2)
    assert berit["notifications"] == 7  # the 03-30 08:30 step went by e-mail and SMS
    assert berit["time_zone"] == "Europe/Berlin"
    # The dead letter never reached Nolan: not an interruption.
    assert (nolan["interruptions"], nolan["business"], nolan["off_hours"], nolan["sleep"]) == (3, 1, 0, 2)
    assert nolan["notifications"] == 3


def test_rollup_days_are_the_organizations_days(org, world):
    days = dict(
        OnCallRollup.objects.filter(organization=org, user_id=world["berit"].pk).values_list(
            "day", "interruptions"
        )
    )

    assert days == {date(2026, 3, 2): 1, date(2026, 3, 29): 2, date(2026, 3, 30): 3}


def test_hours_on_call_across_the_spring_forward_handoff(org, world):
    # 03-29 00:00Z to 03-31 00:00Z: Berit until the 09:00 CEST handoff (07:00Z), Nolan for 24 hours,
    # Berit from 03-30 07:00Z: 7 + 17 hours each side of Nolan's 24.
    rows = {
        row["responder"]: row
        for row in oncall.load(filters(org, date(2026, 3, 29), date(2026, 3, 30)), timezone.now())
    }

    assert rows["berit"]["hours_on_call"] == 24.0
    assert rows["nolan"]["hours_on_call"] == 24.0
    assert (rows["berit"]["interruptions"], rows["nolan"]["interruptions"]) == (5, 0)


def test_fairness_across_the_rotation(org, world):
    sections = oncall.fairness(filters(org, date(2026, 3, 29), date(2026, 3, 30)), timezone.now())

    assert len(sections) == 1
    rotation = sections[0]
    assert (rotation["schedule"], rotation["fair_share"], rotation["hours_fairness"]) == (
        "Payments primary",
        0.5,
        1.0,
    )
    people = {person["responder"]: person for person in rotation["participants"]}
    assert people["berit"]["interruptions_share"] == 1.0
    assert people["nolan"]["interruptions_share"] == 0.0
    # Jain's index with one person carrying every interruption of two: 1/n.
    assert rotation["interruptions_fairness"] == 0.5


def test_team_filter(org, world, other_team):
    from tests.accounts.factories import TeamFactory

    empty = TeamFactory(organization=org, name="Search", slug="search-team")
    rows = oncall.load(filters(org, date(2026, 3, 1), date(2026, 11, 30), team=empty), timezone.now())

    assert rows == []


def test_jain_index():
    assert oncall.jain_index([3, 3, 3]) == 1.0
    assert oncall.jain_index([4, 0]) == 0.5
    assert oncall.jain_index([0, 0]) is None
