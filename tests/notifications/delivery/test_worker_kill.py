"""A real Celery worker (``celery -A opsplatform worker``, its own process group, against this test
database and Redis) is killed with SIGKILL in the middle of a delivery batch, then restarted.

What must hold, counted at the receiver: nothing is lost (every notification arrives) and nothing is
delivered twice. The receiver does what the webhook documentation asks of receivers: it accepts each
delivery id once. A request that was in flight when the worker died may arrive a second time (the
worker cannot know whether it arrived); it carries the same delivery id, so it is recognized, and
the outbox records that attempt's outcome as unknown. Raw repeats are therefore bounded by the
requests in flight at the moment of the kill, and each is accounted for.
"""

import threading
import time
import uuid

import pytest
from django.utils import timezone

from notifications.escalation import idempotency_key
from notifications.models import AttemptOutcome, Medium, Notification, NotificationStatus
from opsplatform.celery import app as celery_app
from tests.notifications.factories import make_channel
from tests.notifications.peers import http_receiver
from tests.notifications.workers import kill, start_worker, wait_ready

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
    pytest.mark.usefixtures("allow_loopback"),
]

ROWS = 150
CONCURRENCY = 4
WORKER_ENV = {
    "NOTIFICATION_SENDING_LEASE_SECONDS": "3",
    # The lease must outlast a send (checked at start-up): sends to the loopback receiver are quick.
    "OUTBOUND_TOTAL_TIMEOUT": "1",
    "NOTIFICATION_DELIVERY_CONCURRENCY": str(CONCURRENCY),
    "NOTIFICATION_DELIVERY_BATCH": "10",
    "NOTIFICATION_RETRY_BASE_SECONDS": "1",
    "NOTIFICATION_RETRY_MAX_SECONDS": "2",
}


class DedupingReceiver:
    """Accept each delivery id once, like a well-behaved webhook receiver."""

    def __init__(self, peer):
        self.peer = peer
        self.lock = threading.Lock()

    def accepted(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.peer.lock:
            for request in self.peer.requests:
                key = request.headers["x-opsplatform-delivery"]
                counts[key] = counts.get(key, 0) + 1
        return counts


def test_sigkill_mid_batch_loses_nothing_and_delivers_nothing_twice(org, open_incident, tmp_path):
    queue = f"test-deliveries-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    with http_receiver() as peer:
        peer.delay = 0.03  # slow enough that the kill lands mid-batch with requests in flight
        receiver = DedupingReceiver(peer)
        channel = make_channel(org, kind="webhook", name="Ops", url=peer.url("/hook")).channel
        incident = open_incident()
        now = timezone.now()
        Notification.objects.bulk_create(
            Notification(
                organization=org,
                incident=incident,
                idempotency_key=idempotency_key("kill-test", n),
                step=0,
                channel=channel,
                medium=Medium.WEBHOOK,
                destination=channel.name,
                next_attempt_at=now,
                max_attempts=6,
            )
            for n in range(ROWS)
        )

        def beat():
            celery_app.send_task("notifications.delivery_tick", queue=queue)

        worker = start_worker(queue, log, env=WORKER_ENV)
        try:
            wait_ready(log, 0)
            beat()
            peer.wait_for(ROWS // 3, timeout=60)
            kill(worker)
            killed_at_requests = len(peer.requests)
            in_flight = Notification.objects.filter(status=NotificationStatus.SENDING).count()
            assert 0 < killed_at_requests < ROWS, "the kill must land in the middle of the batch"
            assert in_flight > 0, "the kill must leave leased rows behind, or the takeover goes untested"

            worker = start_worker(queue, log, env=WORKER_ENV)
            wait_ready(log, 1)
            deadline = time.monotonic() + 90
            while Notification.objects.exclude(status=NotificationStatus.SENT).exists():
                assert time.monotonic() < deadline, "not everything was delivered after the restart"
                beat()  # as the beat schedule would, every couple of seconds
                time.sleep(1.5)
        finally:
            if worker.poll() is None:
                kill(worker)

        accepted = receiver.accepted()
        rows = list(Notification.objects.prefetch_related("attempt_log"))
        # Nothing lost: every notification reached the receiver.
        assert {row.idempotency_key for row in rows} == set(accepted)
        assert all(row.status == NotificationStatus.SENT for row in rows)
        # Nothing sent twice except what was in flight at the kill, and those are the rows whose
        # attempt is recorded as "outcome unknown"; the receiver recognized them by delivery id.
        repeated = {key for key, count in accepted.items() if count > 1}
        lost = {
            row.idempotency_key
            for row in rows
            if any(a.outcome == AttemptOutcome.LOST for a in row.attempt_log.all())
        }
        assert repeated <= lost
        assert len(lost) <= CONCURRENCY
        assert all(count <= 2 for count in accepted.values())
        assert len(peer.requests) - ROWS == len(repeated) <= in_flight
        print(
            f"\nkilled after {killed_at_requests} requests; {in_flight} rows in flight; "
            f"{len(lost)} taken over after the lease; {len(repeated)} arrived twice with the same delivery id"
        )
