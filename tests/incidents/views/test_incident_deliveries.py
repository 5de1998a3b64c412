"""The incident page's deliveries: retries folded into one timeline line per notification, and the
notifications card following an acknowledgement that cancels pending pages. Receivers are real HTTP
servers on loopback, the channel layer is the real Redis one, time is an explicit clock."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse
from django.utils import timezone

from incidents.realtime import incident_group
from incidents.services import incident_acknowledge
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationRule,
    NotificationStatus,
)
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import http_receiver
from tests.notifications.ticks import escalate

pytestmark = pytest.mark.django_db
LOOPBACK = ["127.0.0.0/8", "::1/128"]
MIN = timedelta(minutes=1)


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    settings.NOTIFICATION_MAX_ATTEMPTS = 6
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 60
    with http_receiver() as peer:
        yield peer


@pytest.fixture
def webhook(org, service, receiver):
    channel = make_channel(org, kind="webhook", name="Ops", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    return channel


def _fragment(client, incident) -> str:
    response = client.get(
        reverse("incidents:detail", args=[incident.pk]) + "?fragment=inner", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return response.content.decode()


def _timeline(page: str) -> str:
    return page.split('id="timeline"')[1].split("</ol>", maxsplit=1)[0]


def _tick_until_attempts(row, attempts: int) -> None:
    now = row.next_attempt_at
    for _ in range(attempts):
        run_delivery_tick(now=now)
        row.refresh_from_db()
        now = row.next_attempt_at or now


def test_retries_fold_into_one_line_until_delivered(client_as, webhook, open_incident, receiver):
    receiver.respond_with(500, 500, 500, then=200)
    incident, row = escalate(open_incident)
    client = client_as("viewer")

    _tick_until_attempts(row, 3)

    assert row.status == NotificationStatus.FAILED and row.attempts == 3
    timeline = _timeline(_fragment(client, incident))
    assert timeline.count(f'data-notification="{row.pk}"') == 1  # three ledger entries, one line
    line = timeline.split(f'data-notification="{row.pk}"')[1].split("</li>")[0]
    assert 'data-verb="notification.failed"' in timeline and 'data-attempts="3"' in line
    local = timezone.localtime(row.next_attempt_at).strftime("%H:%M:%S")
    assert f'3 attempts failed, retrying at <time datetime="{row.next_attempt_at.isoformat()}"' in line
    assert f">{local}</time>" in line
    assert "Last error: HTTP 500" in line

    _tick_until_attempts(row, 1)

    assert row.status == NotificationStatus.SENT
    timeline = _timeline(_fragment(client, incident))
    assert timeline.count(f'data-notification="{row.pk}"') == 1
    line = timeline.split(f'data-notification="{row.pk}"')[1].split("</li>")[0]
    assert "delivered after 3 retries" in line and 'data-verb="notification.sent"' in timeline


@pytest.fixture
def paged_in_two_steps(org, users, service, open_incident):
    """The operator's e-mail at once and an SMS five minutes later if still unacknowledged."""
    operator = users["operator"]
    email = ContactMethod.objects.create(
        user=operator, kind=ContactKind.EMAIL, address="o@example.test", verified_at=timezone.now()
    )
    sms = ContactMethod.objects.create(
        user=operator, kind=ContactKind.SMS, address="+4915112345678", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=email, delay_minutes=0)
    NotificationRule.objects.create(user=operator, contact_method=sms, delay_minutes=5)
    make_policy(org, step(("user", operator), delay=30), services=[service])
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    return incident, Notification.objects.get(incident=incident, medium="sms")


def _card(page: str) -> str:
    return page.split('id="deliveries"')[1].split("</section>", maxsplit=1)[0]


async def _drain(layer, channel) -> list[dict]:
    events = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=1)
        except TimeoutError:
            return events
        events.append(message["event"])


def test_acknowledging_changes_the_card_and_the_cancellation_is_pushed(
    client_as, actor_as, paged_in_two_steps, django_capture_on_commit_callbacks
):
    incident, sms = paged_in_two_steps
    client = client_as("viewer")
    before = _card(_fragment(client, incident))
    assert "if still unacknowledged" in before

    incident_acknowledge(actor=actor_as("operator"), incident=incident)

    # At once, before any tick: the pending SMS reads as not going out.
    after_ack = _card(_fragment(client, incident))
    assert "will not be sent: the incident is acknowledged" in after_ack
    assert "if still unacknowledged" not in after_ack

    # The delivery tick cancels it; the page hears of it on the incident's group and re-renders.
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(incident_group(incident.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            stats = run_delivery_tick(now=sms.next_attempt_at + MIN)
        assert stats.cancelled == 1
        events = async_to_sync(_drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(incident_group(incident.pk), channel)
    # The kind and id the incident page's live region listens for (static/js/live.js).
    assert {
        "kind": "incident",
        "id": incident.pk,
        "verb": "notification.cancelled",
        "status": "acknowledged",
    } in events
    sms.refresh_from_db()
    assert sms.status == NotificationStatus.CANCELLED
    card = _card(_fragment(client, incident))
    assert f'data-notification="{sms.pk}" data-status="cancelled"' in card
