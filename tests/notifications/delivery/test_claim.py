"""Claiming outbox rows: a lost worker's lease is taken over, rows no longer needed are cancelled, and
concurrent ticks never send a row twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from incidents.services import incident_resolve
from notifications.delivery import DeliveryStats, run_delivery_tick
from notifications.delivery.claim import claim_due
from notifications.escalation import run_escalation_tick
from notifications.models import AttemptOutcome, Notification, NotificationStatus
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import escalate

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


@pytest.mark.django_db
def test_a_lost_worker_is_taken_over_after_its_lease(webhook, open_incident, receiver, settings):
    settings.NOTIFICATION_SENDING_LEASE_SECONDS = 60
    _, row = escalate(open_incident)
    t0 = row.next_attempt_at

    # A worker claims the row, then dies before sending or recording anything.
    _, claimed, _ = claim_due(t0, 10, DeliveryStats())
    assert [r.pk for r in claimed] == [row.pk]
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENDING
    # Within the lease nobody touches it.
    assert run_delivery_tick(now=t0 + timedelta(seconds=30)).claimed == 0
    stats = run_delivery_tick(now=t0 + timedelta(seconds=61))
    assert (stats.lost, stats.sent) == (1, 1)
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert [(a.number, a.outcome) for a in row.attempt_log.order_by("number")] == [
        (1, AttemptOutcome.LOST),
        (2, AttemptOutcome.SENT),
    ]
    assert len(receiver.requests) == 1


RELATED = (
    "incident__organization",
    "incident__service",
    "incident__team",
    "channel",
    "contact_method",
    "recipient",
)


def _related(row):
    incident = row.incident
    return (incident, incident.organization, incident.service, incident.team, row.channel, row.contact_method,
            row.recipient)  # fmt: skip


@pytest.mark.django_db
def test_a_claimed_row_arrives_with_everything_its_send_reads(
    webhook, open_incident, django_assert_num_queries
):
    _, row = escalate(open_incident)

    _, (claimed,), examined = claim_due(row.next_attempt_at, 10, DeliveryStats())

    stored = Notification.objects.select_related(*RELATED).get(pk=row.pk)
    with django_assert_num_queries(0):  # attached by the claim, as select_related attaches them
        seen = _related(claimed)
    assert seen == _related(stored) and examined == 1
    assert seen[2] is not None and seen[4] is not None  # the demo shape: a service, a channel
    assert (claimed.incident.title, claimed.channel.name) == (stored.incident.title, stored.channel.name)
    assert claimed.channel.config == stored.channel.config  # through the field's own converters
    assert (claimed.status, claimed.attempts, claimed.claim_token) == (
        NotificationStatus.SENDING,
        1,
        stored.claim_token,
    )


@pytest.mark.django_db
def test_resolved_incidents_are_not_paged(webhook, open_incident, receiver, actor_as):
    incident, row = escalate(open_incident)
    incident_resolve(actor=actor_as("operator"), incident=incident)
    stats = run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.CANCELLED and stats.cancelled == 1
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_delivery_ticks_never_send_a_row_twice(org, service, receiver, open_incident):
    channels = [
        make_channel(org, kind="webhook", name=f"hook {n}", url=receiver.url(f"/hook/{n}")).channel
        for n in range(6)
    ]
    make_policy(org, step(*[("channel", c) for c in channels]), services=[service])
    for n in range(10):
        incident = open_incident(title=f"Incident {n}")
        run_escalation_tick(now=incident.next_escalation_at)
    assert Notification.objects.count() == 60
    receiver.delay = 0.01
    now = timezone.now()
    barrier = threading.Barrier(3)
    errors = []

    def tick():
        try:
            barrier.wait()
            run_delivery_tick(now=now, batch_size=7, concurrency=4)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    keys = [r.headers["x-opsplatform-delivery"] for r in receiver.requests]
    assert len(keys) == len(set(keys)) == 60
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}


def _page_by_webhook_and_mail(org, service, receiver) -> None:
    """The service's policy pages a webhook channel and an e-mail channel at its first step."""
    hook = make_channel(org, kind="webhook", name="Ops", url=receiver.url("/hook")).channel
    mail = make_channel(org, kind="email", name="Mail", recipients=["oncall@example.test"]).channel
    make_policy(org, step(("channel", hook), ("channel", mail)), services=[service])


@pytest.mark.django_db
def test_a_claim_can_leave_one_medium_in_the_outbox(org, service, open_incident, receiver, smtp):
    """While the mail server is at its limit the tick claims around e-mails (``skip_media``): they
    stay due and untouched, and everything else goes."""
    _page_by_webhook_and_mail(org, service, receiver)
    for number in range(3):
        open_incident(title=f"Checkout errors {number}")
    run_escalation_tick()
    due = timezone.now() + timedelta(seconds=1)

    _, claimed, examined = claim_due(due, 10, DeliveryStats(), skip_media=("email",))
    assert examined == 3 and {row.medium for row in claimed} == {"webhook"}
    emails = Notification.objects.filter(medium="email")
    assert [(row.status, row.attempts) for row in emails] == [(NotificationStatus.PENDING, 0)] * 3

    _, claimed, _ = claim_due(due, 10, DeliveryStats())
    assert sorted(row.medium for row in claimed) == ["email"] * 3


@pytest.mark.django_db
def test_pages_past_a_busy_mail_server_arrive_once(org, service, open_incident, receiver, smtp, settings):
    """With one request per destination at a time (the mail server always at its limit while a
    mail is out), ticks claim around e-mails and give back what they cannot send: every page still
    arrives exactly once, on its first attempt."""
    settings.NOTIFICATION_DELIVERY_PER_DESTINATION = 1
    _page_by_webhook_and_mail(org, service, receiver)
    for number in range(6):
        open_incident(title=f"Checkout errors {number}")
    run_escalation_tick()
    now = timezone.now() + timedelta(seconds=1)
    for _ in range(10):
        run_delivery_tick(now=now, concurrency=4)
        if len(smtp) == 6 and len(receiver.requests) == 6:
            break
        now += timedelta(seconds=settings.NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS)
    assert len(receiver.requests) == 6 and len(smtp) == 6
    assert set(Notification.objects.values_list("status", "attempts")) == {(NotificationStatus.SENT, 1)}
