"""``GET /api/v1/schedules/{id}/oncall/?at=…``: every ``at`` that is not a real instant in the range
schedules cover is a 400 problem naming ``at`` (never a 500), and an ``at`` at either edge of that
range answers."""

import pytest

from tests.notifications.factories import make_schedule

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "at",
    [
        "2025-02-30T00:00:00Z",  # no such day
        "2025-01-01T24:00:00Z",
        "2025-01-01T10:00:00+25:00",  # no such offset
        "2025-01-01T10:00:00+16:00",  # beyond any zone on Earth (+14:00 is the most)
        "2025-01-01T10:00:00-13:00",
        "0001-01-01T00:00:00Z",  # the ends of time: the window after them does not exist
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "2025-01-01T10:00:00",  # no offset
        "yesterday",
    ],
)
def test_an_at_that_is_no_instant_in_range_is_a_problem_naming_at(api_as, org, team, users, at):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    response = api_as("viewer").get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": at})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["at"]


@pytest.mark.parametrize(
    "at", ["1970-01-01T00:00:00Z", "2199-12-31T23:59:59+14:00", "2025-06-01T12:00:00-12:00"]
)
def test_instants_in_range_answer(api_as, org, team, users, at):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    response = api_as("viewer").get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": at})
    assert response.status_code == 200, response.content
