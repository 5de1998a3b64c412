"""Deliveries on the pages: the incident page's panel, the delivery dashboard, and resending a dead
letter (who may, and what it does)."""

import pytest
from django.utils import timezone

from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import Notification, NotificationStatus
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import drive, escalate, verbs

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


def test_incident_page_shows_deliveries(client_as, org, service, open_incident):
    channel = make_channel(org, kind="email", name="Ops mail", recipients=["ops@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    html = client_as("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    assert 'id="deliveries"' in html and "Ops mail" in html
    assert "ran an escalation step" in html


def test_delivery_dashboard(client_as):
    assert client_as("viewer").get("/oncall/deliveries/").status_code == 200


@pytest.mark.django_db
def test_resend_a_dead_letter_from_the_incident_page(webhook, open_incident, receiver, client, users):
    receiver.respond_with(then=500)
    incident, row = escalate(open_incident)
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.DEAD, row.next_attempt_at)
    receiver.respond_with(then=200)
    client.force_login(users["operator"])
    response = client.post(f"/oncall/notifications/{row.pk}/resend/")
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/"
    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING and row.max_attempts == 10 and row.resend_count == 1
    run_delivery_tick(now=timezone.now())
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT and row.attempts == 6
    assert receiver.requests[-1].headers["x-opsplatform-delivery"] == row.idempotency_key
    assert "notification.resend_requested" in verbs(incident)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("operator", True), ("outsider", False)])
def test_who_may_resend(webhook, open_incident, receiver, client_as, role, allowed):
    receiver.respond_with(then=404)
    _, row = escalate(open_incident)
    run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.DEAD  # 404 is final: dead at once
    response = client_as(role).post(f"/oncall/notifications/{row.pk}/resend/")
    assert response.status_code == (302 if allowed else 403 if role == "viewer" else 404)
    row.refresh_from_db()
    assert (row.status == NotificationStatus.PENDING) is allowed
    if not allowed:
        assert (row.resend_count, row.max_attempts, row.attempts) == (0, 5, 1)
        assert row.next_attempt_at is None
        assert "notification.resend_requested" not in verbs(row.incident)
