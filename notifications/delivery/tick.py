"""On-call and notifications: one delivery tick, a pipeline of claim → send → record outcome (see
the package docstring for the phases and what a crash between them leaves behind)."""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from notifications.delivery.batch import DeliveryStats
from notifications.delivery.claim import claim_due, reclaim_lost
from notifications.delivery.outcome import record_outcomes
from notifications.delivery.send import Carriers, prepare
from notifications.senders import send

FINISH_GATHER_SECONDS = 0.025


def run_delivery_tick(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    time_budget: float = 20.0,
    concurrency: int | None = None,
) -> DeliveryStats:
    """Send everything due at ``now`` (default: the wall clock, re-read per claim). Safe to run
    concurrently and twice.

    A pipeline, not batches: rows are claimed only when a sender thread is free for them, and each
    finished request is recorded at once. So at any moment at most ``concurrency`` rows are in the
    state whose outcome a crash would leave unknown, and one slow receiver does not hold up the rest.
    """
    batch_size = batch_size or settings.NOTIFICATION_DELIVERY_BATCH
    concurrency = concurrency or settings.NOTIFICATION_DELIVERY_CONCURRENCY
    # Claim in chunks of at least this many free slots: one claim transaction per row would cost
    # more than the requests themselves against a fast receiver.
    min_claim = max(1, min(batch_size, concurrency // 2))
    stats = DeliveryStats()
    deadline = time.monotonic() + time_budget
    carriers = Carriers()
    in_flight: dict = {}
    drained = False
    reclaim_lost(now or timezone.now(), stats)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
        while True:
            free = concurrency - len(in_flight)
            if not drained and free >= min(min_claim, concurrency) and time.monotonic() < deadline:
                want = min(free, batch_size)
                _, rows, examined = claim_due(now or timezone.now(), want, stats)
                drained = examined < want
                for row in rows:
                    outgoing = prepare(row, carriers)
                    in_flight[pool.submit(send, outgoing)] = (row, outgoing.channel_id)
            if not in_flight:
                if drained or time.monotonic() >= deadline:
                    return stats
                continue
            done, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
            if done and len(done) < len(in_flight):
                # Let the requests finishing right behind it join the same transaction: a few
                # milliseconds of delay for far fewer commits under load.
                more, _ = wait(set(in_flight) - done, timeout=FINISH_GATHER_SECONDS)
                done |= more
            if done:
                finished = []
                for future in done:
                    row, channel_id = in_flight.pop(future)
                    finished.append((row, future.result(), channel_id))
                record_outcomes(finished, now or timezone.now(), stats)
