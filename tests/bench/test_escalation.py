"""Escalation and delivery under a burst, on real Celery worker processes.

10,000 incidents with escalation timers, 1,000 of them falling due in the same second, each paged
through a webhook channel to a receiver on loopback.

    make bench PYTEST_ARGS="-k escalation"

As in production: the test plays the beat (an escalation tick every ``ESCALATION_TICK_SECONDS``, a
delivery tick every ``DELIVERY_TICK_SECONDS``); ``celery -A opsplatform worker`` processes run them
against the test database and Redis, one worker for escalation and one for delivery, each with
``WORKER_CONCURRENCY`` processes (overlapping ticks split the due rows with SKIP LOCKED).

Printed: lateness (due time → outbox row committed) p50/p99 for the burst and for all incidents,
deliveries per second at the receiver, lost and duplicate deliveries. Targets: lateness p99 < 5 s,
≥ 200 deliveries/s, none lost, none twice.
"""

import os
import random
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from incidents.models import Incident, Status
from notifications.models import Notification, NotificationStatus
from opsplatform.celery import app as celery_app
from tests.bench.timing import percentile
from tests.incidents.factories import ServiceFactory
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import http_receiver
from tests.notifications.workers import start_worker, stop, wait_ready

N_INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "10000"))
N_BURST = N_INCIDENTS // 10
LEAD_SECONDS = 8  # workers start and the first ticks run before anything falls due
SPREAD_SECONDS = 60  # the other 9,000 timers: 150 a second on average, around the burst
BURST_OFFSET_SECONDS = 30
WORKER_CONCURRENCY = 2
PEAK_WINDOW_SECONDS = 10


def _peak_rate(stamps: list[float], window: float) -> float:
    """Deliveries per second over the busiest ``window`` seconds (the sustained rate under backlog;
    the overall figure also counts the seconds when nothing was due yet)."""
    best, lo = 0, 0
    for hi, stamp in enumerate(stamps):
        while stamp - stamps[lo] > window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best / window


def _populate(org, service, start):
    rng = random.Random(5)
    burst_second = start + timedelta(seconds=BURST_OFFSET_SECONDS)
    rows = []
    for n in range(N_INCIDENTS):
        if n < N_BURST:
            at = burst_second + timedelta(microseconds=rng.randint(0, 999_999))
        else:
            at = start + timedelta(seconds=rng.uniform(0, SPREAD_SECONDS))
        rows.append(
            Incident(
                organization=org,
                service=service,
                team=service.owner_team,
                title=f"Bench incident {n}",
                status=Status.TRIGGERED,
                created_at=at,
                updated_at=at,
                next_escalation_at=at,
            )
        )
    created = Incident.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
    due = {incident.pk: incident.next_escalation_at for incident in created}
    return due, {incident.pk for incident in created[:N_BURST]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
def test_escalation_burst_and_delivery_throughput(org, team, tmp_path):
    schedule = settings.CELERY_BEAT_SCHEDULE
    escalation_every = schedule["notifications-escalation"]["schedule"]
    delivery_every = schedule["notifications-delivery"]["schedule"]
    run = uuid.uuid4().hex[:8]
    escalation_queue, delivery_queue = f"bench-escalation-{run}", f"bench-delivery-{run}"
    with http_receiver() as receiver, override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        service = ServiceFactory(organization=org, owner_team=team)
        channel = make_channel(org, kind="webhook", name="Bench hook", url=receiver.url("/bench")).channel
        make_policy(org, step(("channel", channel), delay=120), services=[service])
        start = timezone.now() + timedelta(seconds=LEAD_SECONDS)
        due, burst = _populate(org, service, start)

        logs = tmp_path / "escalation.log", tmp_path / "delivery.log"
        # The escalation worker's "deliver now" kick goes to the delivery worker's queue.
        kick_to_delivery = {"CELERY_TASK_DEFAULT_QUEUE": delivery_queue}
        workers = [
            start_worker(escalation_queue, logs[0], concurrency=WORKER_CONCURRENCY, env=kick_to_delivery),
            # A worker that only delivers may keep going through a backlog.
            start_worker(
                delivery_queue,
                logs[1],
                concurrency=WORKER_CONCURRENCY,
                # Every page goes to one receiver host here: let the per-destination limit match the
                # senders, so the benchmark still measures the whole pool.
                env={
                    "NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS": "20",
                    "NOTIFICATION_DELIVERY_PER_DESTINATION": str(settings.NOTIFICATION_DELIVERY_CONCURRENCY),
                },
            ),
        ]
        try:
            for log in logs:
                wait_ready(log, 0)
            deadline = time.monotonic() + LEAD_SECONDS + SPREAD_SECONDS + 300
            next_escalation = next_delivery = time.monotonic()
            while time.monotonic() < deadline:
                now = time.monotonic()
                if now >= next_escalation:
                    celery_app.send_task("notifications.escalation_tick", queue=escalation_queue)
                    next_escalation += escalation_every
                if now >= next_delivery:
                    celery_app.send_task("notifications.delivery_tick", queue=delivery_queue)
                    next_delivery += delivery_every
                    escalating = Incident.objects.filter(next_escalation_at__lte=start + timedelta(hours=1))
                    unsent = Notification.objects.exclude(status=NotificationStatus.SENT)
                    if not escalating.exists() and not unsent.exists():
                        break
                time.sleep(max(0.0, min(next_escalation, next_delivery) - time.monotonic()))
        finally:
            for worker in workers:
                stop(worker)

        written = dict(Notification.objects.values_list("incident_id", "created_at"))
        lateness = {pk: (written[pk] - due[pk]).total_seconds() for pk in written}
        burst_lateness = [lateness[pk] for pk in burst if pk in lateness]
        keys = Counter(r.headers["x-opsplatform-delivery"] for r in receiver.requests)
        stamps = sorted(r.at for r in receiver.requests)
        span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
        rate = (len(stamps) - 1) / span if span else 0.0
        peak = _peak_rate(stamps, PEAK_WINDOW_SECONDS)
        statuses = Counter(Notification.objects.values_list("status", flat=True))
        expected_keys = set(Notification.objects.values_list("idempotency_key", flat=True))
        lost = len(expected_keys - set(keys)) + (N_INCIDENTS - len(written))
        duplicates = sum(count - 1 for count in keys.values())

        print(f"\nEscalation burst: {N_INCIDENTS} incidents with timers, {N_BURST} due in one second")
        print(
            f"beat: escalation every {escalation_every:.1f} s, delivery every {delivery_every:.1f} s; "
            f"2 workers x {WORKER_CONCURRENCY} processes; "
            f"{settings.NOTIFICATION_DELIVERY_CONCURRENCY} senders per delivery tick"
        )
        print(f"{'lateness (due -> outbox row)':<32}{'n':>7}{'p50 s':>9}{'p99 s':>9}{'max s':>9}")
        for name, samples in (
            ("burst (same second)", burst_lateness),
            ("all incidents", list(lateness.values())),
        ):
            print(
                f"{name:<32}{len(samples):>7}{percentile(samples, 50):>9.2f}{percentile(samples, 99):>9.2f}"
                f"{max(samples):>9.2f}"
            )
        print(
            f"deliveries at the loopback receiver: {len(stamps)} in {span:.1f} s = {rate:.0f}/s overall, "
            f"{peak:.0f}/s over the busiest {PEAK_WINDOW_SECONDS} s"
        )
        print(f"outbox: {dict(statuses)}; lost {lost}; delivered twice {duplicates}")

        for key in [k for k, count in keys.items() if count > 1][:5]:  # explain any repeat
            row = Notification.objects.get(idempotency_key=key)
            attempts = list(row.attempt_log.values_list("number", "outcome", "started_at"))
            print(
                f"repeated delivery: notification {row.pk} ({row.status}, {row.attempts} attempts) {attempts}"
            )
        assert len(written) == N_INCIDENTS
        assert lost == 0 and duplicates == 0
        assert statuses == {NotificationStatus.SENT: N_INCIDENTS}
        assert percentile(burst_lateness, 99) < 5.0
        assert peak >= 200
