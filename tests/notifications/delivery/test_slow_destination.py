"""One slow destination does not hold up the others: a delivery tick sends at most
NOTIFICATION_DELIVERY_PER_DESTINATION requests to one host at a time; rows for a host that is
already busy wait in the tick for a slot for a moment, then go back to the outbox (no attempt spent)
instead of taking the worker's other slots."""

import asyncio
import contextlib
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import Notification, NotificationAttempt, NotificationStatus
from tests.incidents.factories import ServiceFactory
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import mail_through, trickle_receiver
from tests.notifications.ticks import storm_pages
from tests.servers import free_port

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(60),
    pytest.mark.usefixtures("allow_loopback"),
]


@pytest.fixture
def slow():
    with trickle_receiver(interval=2.0) as peer:
        yield peer


@override_settings(OUTBOUND_TOTAL_TIMEOUT=6, NOTIFICATION_DELIVERY_PER_DESTINATION=1)
def test_a_slow_receiver_does_not_delay_a_healthy_one(org, team, service, open_incident, slow, receiver):
    slow_hook = make_channel(org, kind="webhook", name="Slow", url=slow.url("/slow")).channel
    make_policy(org, step(("channel", slow_hook)), services=[service])
    healthy_service = ServiceFactory(organization=org, name="Healthy", slug="healthy", owner_team=team)
    fast_hook = make_channel(org, kind="webhook", name="Fast", url=receiver.url("/fast")).channel
    make_policy(org, step(("channel", fast_hook)), name="Fast paging", services=[healthy_service])
    for n in range(3):
        open_incident(title=f"Slow {n}", dedup_key=f"slow-{n}")
    healthy = open_incident(title="Healthy", service=healthy_service, dedup_key="healthy")
    now = timezone.now()
    run_escalation_tick(now=now)

    started = time.monotonic()
    done = threading.Event()

    def tick():
        try:
            run_delivery_tick(now=now, concurrency=3, time_budget=2)
        finally:
            connection.close()
            done.set()

    worker = threading.Thread(target=tick)
    worker.start()
    arrived = receiver.wait_for(1, timeout=4)
    assert time.monotonic() - started < 4
    assert arrived[0].json()["incident"]["id"] == healthy.pk
    worker.join(timeout=30)
    assert done.is_set()

    # One request at a time went to the slow host; the other two rows wait in the outbox, untried.
    assert len(slow.requests) == 1
    rows = Notification.objects.filter(channel=slow_hook)
    tried = [r for r in rows if r.attempts]
    waiting = [r for r in rows if not r.attempts]
    assert len(tried) == 1 and tried[0].status == NotificationStatus.FAILED  # its deadline ran out
    assert len(waiting) == 2
    assert all(r.status == NotificationStatus.PENDING and r.next_attempt_at > now for r in waiting)
    assert NotificationAttempt.objects.filter(notification__in=waiting).count() == 0
    assert not LedgerEntry.objects.filter(
        verb__startswith="notification.", target_id__in=[str(r.incident_id) for r in waiting]
    ).exists()
    assert Notification.objects.get(channel=fast_hook).status == NotificationStatus.SENT

    # They go out later, one at a time, never twice at once.
    assert all(r.next_attempt_at <= now + timedelta(seconds=30) for r in waiting)


class _SlowMail:
    """An SMTP server that takes ``delay`` seconds to accept each message."""

    def __init__(self, delay: float):
        self.delay, self.messages = delay, []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        self.messages.append(envelope)
        return "250 OK"


@contextlib.contextmanager
def _slow_mail_server(delay: float):
    handler = _SlowMail(delay)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with mail_through(controller.port):
            yield handler
    finally:
        controller.stop()


@override_settings(NOTIFICATION_DELIVERY_PER_DESTINATION=1, NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS=60)
def test_emails_wait_in_the_outbox_while_the_mail_server_is_at_its_limit(
    org, service, open_incident, receiver
):
    """While the one mail server has all the requests it may take, the tick claims past the e-mails
    instead of claiming them only to defer them (by a minute here), and sends them once it is free."""
    with _slow_mail_server(delay=1.0) as mail:
        first = make_channel(org, kind="email", name="Mail A", recipients=["a@example.test"]).channel
        second = make_channel(org, kind="email", name="Mail B", recipients=["b@example.test"]).channel
        hook = make_channel(org, kind="webhook", name="Hook", url=receiver.url("/hook")).channel
        make_policy(org, step(("channel", first), ("channel", second), ("channel", hook)), services=[service])
        incident = open_incident()
        run_escalation_tick(now=incident.next_escalation_at)

        stats = run_delivery_tick(batch_size=1, concurrency=4, time_budget=20)

    rows = Notification.objects.filter(incident=incident)
    assert stats.sent == 3
    assert sorted((row.medium, row.status, row.attempts) for row in rows) == [
        ("email", NotificationStatus.SENT, 1),
        ("email", NotificationStatus.SENT, 1),
        ("webhook", NotificationStatus.SENT, 1),
    ]
    assert sorted(envelope.rcpt_tos[0] for envelope in mail.messages) == ["a@example.test", "b@example.test"]
    assert len(receiver.requests) == 1


@override_settings(NOTIFICATION_DELIVERY_PER_DESTINATION=2)
def test_pages_for_a_busy_healthy_receiver_wait_in_the_tick_for_its_slots(
    org, service, open_incident, receiver
):
    """During a storm every page goes to the same receiver, so it is at its limit most of the time.
    Rows claimed for it wait in the tick for one of its slots (a healthy receiver frees one within
    milliseconds) instead of going back to the outbox for the deferral: one tick sends them all, on
    their first attempt, and never more than the limit at once."""
    now = storm_pages(org, service, open_incident, receiver, 8)
    receiver.delay = 0.05  # long enough for the requests to overlap

    stats = run_delivery_tick(now=now, concurrency=4, batch_size=4)

    assert stats.sent == 8
    assert len(receiver.requests) == 8
    assert set(Notification.objects.values_list("status", "attempts")) == {(NotificationStatus.SENT, 1)}
    assert NotificationAttempt.objects.count() == 8
    assert receiver.most_concurrent == 2
