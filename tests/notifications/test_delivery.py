"""The delivery outbox under faults: retries with backoff, dead letters, resend, a lost worker's
lease, and concurrent workers. Receivers are real HTTP servers on loopback; time is an explicit clock."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from incidents.services import incident_resolve
from notifications.delivery import DeliveryStats, backoff, run_delivery_tick
from notifications.delivery.claim import claim_due
from notifications.delivery.outcome import record_outcomes
from notifications.escalation import run_escalation_tick
from notifications.models import AttemptOutcome, Channel, Notification, NotificationStatus
from notifications.senders import SendResult
from notifications.services.outbox import notification_resend
from tests.ledger import verbs as ledger_verbs
from tests.notifications.factories import make_channel, make_policy, step

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


@pytest.fixture
def webhook(org, service, receiver):
    channel = make_channel(org, kind="webhook", name="Ops", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    return channel


def escalate(open_incident, **kwargs):
    incident = open_incident(**kwargs)
    run_escalation_tick(now=incident.next_escalation_at)
    return incident, Notification.objects.get(incident=incident)


def drive(until_done, start, *, limit=20):
    """Run delivery ticks, moving the clock to each row's next attempt, until ``until_done()``."""
    now = start
    for _ in range(limit):
        run_delivery_tick(now=now)
        if until_done():
            return now
        due = (
            Notification.objects.filter(status=NotificationStatus.FAILED).order_by("next_attempt_at").first()
        )
        assert due is not None, "nothing left to retry"
        now = due.next_attempt_at
    raise AssertionError("did not finish")


def verbs(incident) -> list[str]:
    return ledger_verbs(incident, prefix="notification.")


@pytest.mark.django_db
def test_three_failures_then_success_delivers_exactly_once(webhook, open_incident, receiver):
    receiver.respond_with(500, 500, 500, then=200)
    incident, row = escalate(open_incident)
    t0 = row.next_attempt_at
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.SENT, t0)
    row.refresh_from_db()
    assert row.attempts == 4 and row.sent_at is not None and row.last_status_code == 200
    # The receiver saw four tries of one delivery, and accepted exactly one.
    keys = {r.headers["x-opsplatform-delivery"] for r in receiver.requests}
    assert keys == {row.idempotency_key}
    assert [r.headers["x-opsplatform-attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
    attempts = list(row.attempt_log.order_by("number"))
    assert [(a.number, a.outcome, a.status_code) for a in attempts] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "failed", 500),
        (4, "sent", 200),
    ]
    assert all(a.duration_ms >= 0 and a.started_at for a in attempts)
    assert verbs(incident) == ["notification.failed"] * 3 + ["notification.sent"]
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0 and webhook.last_success_at is not None


@pytest.mark.django_db
def test_backoff_grows_exponentially_with_jitter(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 100
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        samples = {backoff(attempt).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(samples) > 1, "jittered"


@pytest.mark.django_db
def test_an_always_failing_receiver_dead_letters_after_the_configured_attempts(
    webhook, open_incident, receiver, client, users
):
    receiver.respond_with(then=503)
    incident, row = escalate(open_incident)
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.DEAD, row.next_attempt_at)
    row.refresh_from_db()
    assert row.attempts == row.max_attempts == 5
    assert len(receiver.requests) == 5
    assert verbs(incident) == ["notification.failed"] * 4 + ["notification.dead_lettered"]
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 5 and "503" in webhook.last_error
    # Nothing more happens on its own.
    run_delivery_tick(now=timezone.now() + timedelta(days=1))
    assert len(receiver.requests) == 5
    # The dashboard lists the failing channel and the dead letter; the incident page offers a resend.
    client.force_login(users["operator"])
    dashboard = client.get("/oncall/deliveries/").content.decode()
    assert "Ops" in dashboard and f"#{incident.pk}" in dashboard
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f"/oncall/notifications/{row.pk}/resend/" in page


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


@pytest.mark.django_db
def test_only_dead_letters_can_be_resent(webhook, open_incident, actor_as):
    _, row = escalate(open_incident)
    with pytest.raises(ValidationError):
        notification_resend(actor=actor_as("operator"), notification=row)


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


@pytest.mark.django_db
def test_a_late_result_from_a_replaced_worker_is_dropped(webhook, open_incident, receiver, settings):
    settings.NOTIFICATION_SENDING_LEASE_SECONDS = 60
    _, row = escalate(open_incident)
    t0 = row.next_attempt_at
    _, [old_claim], _ = claim_due(t0, 10, DeliveryStats())
    run_delivery_tick(now=t0 + timedelta(seconds=61))  # another worker took over and delivered
    late = SendResult(notification_id=row.pk, attempt=1, ok=False, started_at=t0, duration_ms=5, error="boom")
    record_outcomes([(old_claim, late, None)], t0, DeliveryStats())
    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT


@pytest.mark.django_db
def test_resolved_incidents_are_not_paged(webhook, open_incident, receiver, actor_as):
    incident, row = escalate(open_incident)
    incident_resolve(actor=actor_as("operator"), incident=incident)
    stats = run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.CANCELLED and stats.cancelled == 1
    assert receiver.requests == []


@pytest.mark.django_db
def test_disabled_channel_dead_letters(webhook, open_incident, receiver):
    _, row = escalate(open_incident)
    Channel.objects.filter(pk=webhook.pk).update(is_active=False)
    run_delivery_tick(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.DEAD and "disabled" in row.last_error


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
