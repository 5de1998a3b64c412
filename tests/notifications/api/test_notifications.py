"""``/api/v1/notifications/``: the outbox filtered by incident, tenancy, and resending a dead letter."""

import pytest
from django.utils import timezone

from notifications.escalation import run_escalation_tick
from notifications.models import Notification
from tests.ledger import entries
from tests.notifications.factories import make_channel, make_policy, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(org, service, open_incident):
    channel = make_channel(org, kind="email", recipients=["ops@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    first, second = open_incident(title="First"), open_incident(title="Second")
    run_escalation_tick(now=timezone.now())
    return first, second


def test_notifications_filtered_by_incident(api_as, paged, django_assert_max_num_queries):
    first, _ = paged
    api = api_as("viewer")
    with django_assert_max_num_queries(12):
        response = api.get("/api/v1/notifications/", {"incident": first.pk})
    body = response.json()
    assert [n["incident"] for n in body["results"]] == [first.pk]
    row = body["results"][0]
    assert row["status"] == "pending" and row["step"] == 1 and row["attempt_log"] == []
    assert len(api.get("/api/v1/notifications/").json()["results"]) == 2


def test_foreign_incident_filter_leaks_nothing(api_as, paged):
    api = api_as("outsider")
    # Another tenant's incident and one that does not exist answer alike: an empty page.
    assert api.get("/api/v1/notifications/", {"incident": paged[0].pk}).json()["results"] == []
    assert api.get("/api/v1/notifications/", {"incident": 999999}).json()["results"] == []


def test_resend_through_the_api(api_as, paged):
    row = Notification.objects.first()
    response = api_as("operator").post(f"/api/v1/notifications/{row.pk}/resend/")
    assert response.status_code == 400  # only dead letters
    Notification.objects.filter(pk=row.pk).update(status="dead", attempts=6)
    assert api_as("viewer").post(f"/api/v1/notifications/{row.pk}/resend/").status_code == 403
    refused = Notification.objects.get(pk=row.pk)
    assert (refused.status, refused.resend_count, refused.max_attempts) == ("dead", 0, row.max_attempts)
    assert not entries("notification.resend_requested").exists()
    response = api_as("operator").post(f"/api/v1/notifications/{row.pk}/resend/")
    assert response.status_code == 200 and response.json()["status"] == "pending"
