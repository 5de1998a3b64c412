"""Webhook subscribers against a real HTTP receiver on loopback: each update POSTed once, signed;
retries with the same delivery id; a stalled tick fenced off; endpoints that fail for good disabled."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from monitoring.statuspages import services
from monitoring.statuspages.delivery import claim, run_delivery_tick, send_claimed
from monitoring.statuspages.models import DeliveryStatus, StatusDelivery, StatusSubscriber
from monitoring.statuspages.services.webhooks import DISABLE_AFTER
from tests.database_faults import fail_first
from tests.ledger import entries, verbs
from tests.lossy_link import lossy_connection
from tests.monitoring.statuspages.conftest import set_state, signature_valid

pytestmark = pytest.mark.django_db


def post_incident(actor_as, page, components=(), title="Checkout errors"):
    return services.notice_open(
        actor=actor_as("operator"),
        page=page,
        title=title,
        body="Some payments fail; we are on it.",
        components=components,
        component_status="partial_outage",
    )


def overdue():
    """Make every waiting delivery due now (instead of waiting out the backoff)."""
    StatusDelivery.objects.filter(status=DeliveryStatus.FAILED).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_an_update_reaches_each_webhook_once_signed_beside_the_mail(
    page, components, monitors, hook, reader, receiver, smtp, actor_as
):
    subscriber, secret = hook
    set_state(monitors[1], "down")
    notice = post_incident(actor_as, page, components=[components[2]])

    assert run_delivery_tick() == 2
    assert run_delivery_tick() == 0
    [request] = receiver.requests
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["reader@example.com"]
    assert request.method == "POST" and request.path == "/status-hook"
    assert signature_valid(secret, request)
    delivery = StatusDelivery.objects.get(subscriber=subscriber)
    assert request.headers["x-opsplatform-delivery"] == delivery.idempotency_key
    assert request.headers["idempotency-key"] == delivery.idempotency_key
    assert request.headers["x-opsplatform-attempt"] == "1"
    body = request.json()
    assert body["type"] == "status_page.notice_update"
    assert body["delivery_id"] == delivery.idempotency_key
    assert body["page"] == {"id": "acme", "name": "Acme status", "url": "http://status.test/status/acme/"}
    assert body["notice"]["id"] == notice.pk and body["notice"]["title"] == "Checkout errors"
    assert body["notice"]["kind"] == "incident" and body["notice"]["status"] == "investigating"
    assert body["notice"]["components"] == [{"id": components[2].pk, "name": "Checkout"}]
    assert (
        body["update"]["body"] == "Some payments fail; we are on it." and body["update"]["automatic"] is None
    )
    assert body["components"] == [
        {"id": components[0].pk, "name": "API", "status": "operational"},
        {"id": components[1].pk, "name": "Website", "status": "major_outage"},
        {"id": components[2].pk, "name": "Checkout", "status": "partial_outage"},
    ]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("sent", 1, 200)
    subscriber.refresh_from_db()
    assert (subscriber.last_delivery_ok, subscriber.last_delivery_result) == (True, "HTTP 200")
    assert subscriber.consecutive_failures == 0 and subscriber.active


def test_the_signature_does_not_verify_with_another_secret(page, hook, receiver, actor_as):
    post_incident(actor_as, page)
    run_delivery_tick()
    [request] = receiver.requests
    assert not signature_valid("whsec_not-the-secret", request)
    tampered = type(request)(request.method, request.path, request.headers, request.body + b" ", request.at)
    assert not signature_valid(hook[1], tampered)


def test_a_failing_receiver_is_retried_then_succeeds_never_doubled(page, hook, receiver, actor_as):
    subscriber, _ = hook
    receiver.respond_with(503, 500, then=200)
    post_incident(actor_as, page)

    assert run_delivery_tick() == 1
    delivery = StatusDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", 1, 503)
    assert delivery.next_attempt_at > timezone.now() and "HTTP 503" in delivery.last_error
    subscriber.refresh_from_db()
    assert subscriber.last_delivery_ok is False and subscriber.active
    assert run_delivery_tick() == 0  # not due yet: backoff

    overdue()
    assert run_delivery_tick() == 1
    overdue()
    assert run_delivery_tick() == 1
    overdue()
    assert run_delivery_tick() == 0

    assert len(receiver.requests) == 3
    assert len({r.headers["x-opsplatform-delivery"] for r in receiver.requests}) == 1
    assert [r.headers["x-opsplatform-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("sent", 3, 200)
    subscriber.refresh_from_db()
    assert subscriber.last_delivery_ok and subscriber.consecutive_failures == 0


def test_retries_end_in_a_dead_letter(page, hook, receiver, actor_as, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    receiver.respond_with(then=502)
    post_incident(actor_as, page)
    run_delivery_tick()
    overdue()
    run_delivery_tick()
    delivery = StatusDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("dead", 2)
    assert verbs(delivery) == ["status_delivery.dead_lettered"]
    subscriber = StatusSubscriber.objects.get(pk=hook[0].pk)
    assert subscriber.consecutive_failures == 1 and subscriber.active  # one dead letter is not "for good"
    overdue()
    assert run_delivery_tick() == 0 and len(receiver.requests) == 2


def test_a_tick_that_stalled_past_its_lease_sends_nothing_twice(page, hook, receiver, actor_as, settings):
    post_incident(actor_as, page)
    now = timezone.now()
    stalled_token, stalled_ids = claim(now=now)
    assert len(stalled_ids) == 1
    # The lease ran out; another tick takes the row over and delivers it.
    later = now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    assert run_delivery_tick(now=later) == 1
    # The first tick wakes up: its claim is no longer the row's.
    assert send_claimed(stalled_token, stalled_ids) == {"gone": 1}
    assert len(receiver.requests) == 1
    delivery = StatusDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_410_gone_disables_the_endpoint_at_once(page, hook, receiver, actor_as):
    subscriber, _ = hook
    receiver.respond_with(then=410)
    post_incident(actor_as, page, title="First")
    post_incident(actor_as, page, title="Second")  # queued before the endpoint said it is gone

    assert run_delivery_tick() == 2
    assert len(receiver.requests) == 1
    first, second = StatusDelivery.objects.order_by("pk")
    assert (first.status, first.status_code) == ("dead", 410)
    assert second.status == "cancelled"
    subscriber.refresh_from_db()
    assert subscriber.disabled_at is not None and not subscriber.active
    assert subscriber.disabled_reason == "The endpoint answered 410 Gone."
    assert verbs(subscriber) == ["status_subscriber.webhook_added", "status_subscriber.webhook_disabled"]
    # A disabled endpoint is not queued for later updates.
    post_incident(actor_as, page, title="Third")
    assert StatusDelivery.objects.count() == 2
    assert run_delivery_tick() == 0 and len(receiver.requests) == 1


def test_repeated_refusals_disable_the_endpoint_and_a_success_resets_the_count(
    page, hook, receiver, actor_as
):
    subscriber, _ = hook
    receiver.respond_with(404, then=200)
    post_incident(actor_as, page, title="Refused")
    run_delivery_tick()
    subscriber.refresh_from_db()
    assert subscriber.consecutive_failures == 1 and subscriber.last_delivery_result.startswith("HTTP 404")
    assert StatusDelivery.objects.get().status == "dead"  # a 4xx is not retried
    post_incident(actor_as, page, title="Accepted")
    run_delivery_tick()
    subscriber.refresh_from_db()
    assert subscriber.consecutive_failures == 0 and subscriber.active

    receiver.respond_with(then=403)
    for n in range(DISABLE_AFTER):
        post_incident(actor_as, page, title=f"Refused {n}")
        run_delivery_tick()
    subscriber.refresh_from_db()
    assert subscriber.consecutive_failures == DISABLE_AFTER and subscriber.disabled_at is not None
    assert "3 deliveries in a row failed for good; last: HTTP 403" in subscriber.disabled_reason
    assert len(receiver.requests) == 2 + DISABLE_AFTER
    [disabled] = entries("status_subscriber.webhook_disabled", target=subscriber)
    assert disabled.data["failures"] == DISABLE_AFTER and "url" not in disabled.data

    services.webhook_enable(actor=actor_as("manager"), subscriber=subscriber)
    subscriber.refresh_from_db()
    assert subscriber.active and subscriber.consecutive_failures == 0
    receiver.respond_with(then=200)
    post_incident(actor_as, page, title="Back")
    run_delivery_tick()
    assert receiver.requests[-1].json()["notice"]["title"] == "Back"
    assert verbs(subscriber)[-1] == "status_subscriber.webhook_enabled"


def test_an_address_the_guard_refuses_at_send_time_is_a_dead_letter(page, hook, receiver, actor_as, settings):
    # The endpoint was accepted while loopback was allowed; the deployment has since stopped allowing it.
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    post_incident(actor_as, page)
    run_delivery_tick()
    delivery = StatusDelivery.objects.get()
    assert delivery.status == "dead" and "non-public address" in delivery.last_error
    assert "http://" not in delivery.last_error
    assert receiver.requests == []


def test_removing_an_endpoint_drops_what_waits_for_it(page, hook, receiver, actor_as):
    subscriber, _ = hook
    post_incident(actor_as, page)
    services.webhook_remove(actor=actor_as("manager"), subscriber=subscriber)
    assert not StatusSubscriber.objects.exists() and not StatusDelivery.objects.exists()
    assert run_delivery_tick() == 0 and receiver.requests == []
    [removed] = entries("status_subscriber.webhook_removed")
    assert removed.data["host"] == "127.0.0.1"


def test_the_secret_is_stored_encrypted(hook):
    subscriber, secret = hook
    assert secret.startswith("whsec_")
    stored = StatusSubscriber.objects.get(pk=subscriber.pk).secret
    assert stored and secret not in stored


@pytest.mark.django_db(transaction=True)
def test_outcomes_lost_to_the_database_are_stored_once_it_answers(
    page, hook, reader, receiver, smtp, actor_as
):
    """The mail and the webhook went, and storing each outcome met a database error (a dropped
    connection). Each write is tried again instead of the row waiting for its lease and being sent a
    second time."""
    finish = '"claim_token" = NULL'  # the outcome's fenced UPDATE (delivery._finish)
    post_incident(actor_as, page)
    log: list[str] = []
    with connection.execute_wrapper(fail_first(finish, log, times=2)):
        assert run_delivery_tick() == 2

    assert sum(finish in sql for sql in log) == 4
    assert len(receiver.requests) == 1 and len(smtp) == 1
    assert set(StatusDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    subscriber, _ = hook
    subscriber.refresh_from_db()
    assert subscriber.last_delivery_ok and subscriber.last_delivery_result == "HTTP 200"
    # Past the lease nothing is taken over and sent again.
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    assert run_delivery_tick(now=later) == 0
    assert len(receiver.requests) == 1 and len(smtp) == 1


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_commit_answer_is_lost_sends_its_rows_all_the_same(
    page, hook, reader, receiver, smtp, actor_as, monkeypatch
):
    """The claim commits and the link is cut before its answer (the database going down between the
    two). Once the database answers, the tick finds the rows under its token and sends them, instead
    of leaving them to wait for the lease."""
    post_incident(actor_as, page)
    with lossy_connection(monkeypatch) as link:
        link.lose_answer_to(b"COMMIT")
        assert run_delivery_tick() == 2
        assert link.cut.is_set()

    assert len(receiver.requests) == 1 and len(smtp) == 1
    assert set(StatusDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    assert run_delivery_tick(now=later) == 0
    assert len(receiver.requests) == 1 and len(smtp) == 1
