"""Recording delivery outcomes: retries with exponential backoff and jitter, dead letters after the
last attempt, channel health, and a late result from a replaced worker. Receivers are real HTTP
servers on loopback; time is an explicit clock."""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from notifications.delivery import DeliveryStats, backoff, run_delivery_tick
from notifications.delivery.claim import claim_due
from notifications.delivery.outcome import (
    HEALTH_REFRESH,
    _update_health,
    record_outcomes,
    record_outcomes_durably,
)
from notifications.models import Notification, NotificationStatus
from notifications.senders import SendResult
from tests.notifications.ticks import drive, escalate, verbs
from tests.notifications.workers import database_url

pytestmark = [pytest.mark.usefixtures("allow_loopback", "fast_retries")]


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


@pytest.mark.django_db(transaction=True)
def test_outcomes_are_stored_once_the_database_answers_again(webhook, open_incident, receiver):
    """A database error while the outcomes of requests already made are stored (the database
    restarting, here a statement cancelled by a lock held elsewhere) is waited out: the outcome is
    stored once, under the claim it was sent with, instead of the row staying ``sending`` until its
    lease ends and the page going out a second time."""
    incident, row = escalate(open_incident)
    t0 = row.next_attempt_at
    _, [claimed], _ = claim_due(t0, 10, DeliveryStats())
    sent = SendResult(
        notification_id=row.pk, attempt=1, ok=True, started_at=t0, duration_ms=5, status_code=200
    )
    locked, release = threading.Event(), threading.Event()

    def hold_the_channel_row():
        with psycopg.connect(database_url(), autocommit=False) as other:
            other.execute("SELECT 1 FROM notifications_channel WHERE id = %s FOR UPDATE", [webhook.pk])
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_channel_row)
    holder.start()
    assert locked.wait(10)
    # The first try is cancelled on the locked row (an OperationalError, as a dropped connection
    # is); the retry runs on a fresh connection without the timeout and waits for the lock.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 300")
    threading.Timer(1.0, release.set).start()
    stats = DeliveryStats()
    try:
        record_outcomes_durably([(claimed, sent, webhook.pk)], t0, stats)
    finally:
        release.set()
        holder.join(10)
        connection.close()  # no statement timeout left behind for the teardown's flush

    row.refresh_from_db()
    assert row.status == NotificationStatus.SENT and row.claim_token is None
    assert stats.sent == 1
    assert [(a.number, a.outcome) for a in row.attempt_log.all()] == [(1, "sent")]
    assert verbs(incident) == ["notification.sent"]
    webhook.refresh_from_db()
    assert webhook.last_success_at is not None


@pytest.mark.django_db
def test_a_healthy_channels_row_is_rewritten_at_most_every_few_seconds(webhook):
    now = timezone.now()
    ok = SendResult(notification_id=1, attempt=1, ok=True, started_at=now, duration_ms=1, status_code=200)
    failed = SendResult(
        notification_id=1, attempt=1, ok=False, started_at=now, duration_ms=1, status_code=500, error="500"
    )
    recent = timezone.now() - HEALTH_REFRESH / 2
    type(webhook).objects.filter(pk=webhook.pk).update(last_success_at=recent)

    # A success while the recorded one is recent leaves the row alone (no write, no row lock).
    _update_health({webhook.pk: [ok]})
    webhook.refresh_from_db()
    assert webhook.last_success_at == recent

    # A failure is recorded at once, and the next success clears it at once.
    _update_health({webhook.pk: [failed]})
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1 and webhook.last_error
    _update_health({webhook.pk: [ok]})
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0 and webhook.last_error == "" and webhook.last_success_at > recent

    # Once the recorded success is old enough, a success refreshes it.
    old = timezone.now() - HEALTH_REFRESH * 2
    type(webhook).objects.filter(pk=webhook.pk).update(last_success_at=old)
    _update_health({webhook.pk: [ok]})
    webhook.refresh_from_db()
    assert webhook.last_success_at > old
