"""On-call and notifications: one delivery tick, a pipeline of claim → send → record outcome (see
the package docstring for the phases and what a crash between them leaves behind)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from notifications.delivery.batch import DeliveryStats
from notifications.delivery.claim import claim_due, reclaim_lost, release
from notifications.delivery.outcome import DATABASE_UNREACHABLE, record_outcomes_durably
from notifications.delivery.send import Carriers, prepare
from notifications.models import Medium
from notifications.senders import Outgoing, send

logger = logging.getLogger(__name__)

FINISH_GATHER_SECONDS = 0.025
# The destination of every e-mail: the one mail server the platform sends through.
SMTP = "smtp"


def destination(outgoing: Outgoing) -> str:
    """Where a request goes, for the per-destination limit: the host and port of an HTTP request,
    the mail server for e-mail; "" for a row that failed in preparation (nothing is sent)."""
    if outgoing.error or outgoing.sender is None:
        return ""
    if outgoing.email is not None:
        return SMTP
    parts = urlsplit(outgoing.url)
    return f"{(parts.hostname or '').lower()}:{parts.port or parts.scheme}"


def _claim(now: datetime, want: int, stats: DeliveryStats, *, in_flight: int, skip_media=()):
    """``claim_due``; with requests in flight, a database outage means "claim nothing more": their
    outcomes are stored once the database is back (``record_outcomes_durably``), not dropped."""
    try:
        _, rows, examined = claim_due(now, want, stats, skip_media=skip_media)
    except DATABASE_UNREACHABLE:
        if not in_flight:
            raise
        logger.warning("database unreachable; finishing the %d requests in flight", in_flight)
        return [], 0
    return rows, examined


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
    state whose outcome a crash would leave unknown. One host gets at most
    ``NOTIFICATION_DELIVERY_PER_DESTINATION`` of them; rows for a host at that limit go back to the
    outbox untried for a moment, so a slow receiver never holds up the others.
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
    # Requests in flight per destination: a slow host gets at most this many of the pool's threads.
    per_host: Counter = Counter()
    per_destination = settings.NOTIFICATION_DELIVERY_PER_DESTINATION
    drained = waiting_for_slot = False
    reclaim_lost(now or timezone.now(), stats)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
        while True:
            free = concurrency - len(in_flight)
            # Slots held by destinations at their limit cannot take claimed rows for them anyway:
            # wait for half of the others, not of all (else one slow mail server would make every
            # other destination wait until all of its own requests are back).
            blocked = sum(n for where, n in per_host.items() if where and n >= per_destination)
            enough = max(1, min(min_claim, (concurrency - blocked) // 2))
            claim_now = not drained and not waiting_for_slot and free >= enough
            if claim_now and time.monotonic() < deadline:
                want = min(free, batch_size)
                # E-mails all go to the one mail server: while it is at its limit, leave them in
                # the outbox rather than claim them and give them back.
                skip = (Medium.EMAIL,) if per_host[SMTP] >= per_destination else ()
                rows, examined = _claim(
                    now or timezone.now(), want, stats, in_flight=len(in_flight), skip_media=skip
                )
                drained = examined < want and not skip
                busy = []
                for row in rows:
                    outgoing = prepare(row, carriers)
                    where = destination(outgoing)
                    if where and per_host[where] >= per_destination:
                        busy.append(row)
                        continue
                    per_host[where] += 1
                    in_flight[pool.submit(send, outgoing)] = (row, outgoing.channel_id, where)
                # Everything claimed was for busy hosts: claim again once a request finishes,
                # rather than churning through that host's whole backlog meanwhile.
                waiting_for_slot = bool(rows) and len(busy) == len(rows)
                if busy:
                    # Back to the outbox untried, for a later claim: holding them here would take
                    # this worker's slots from every other destination while the busy one is slow.
                    release(
                        busy,
                        (now or timezone.now())
                        + timedelta(seconds=settings.NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS),
                    )
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
                waiting_for_slot = False
                finished = []
                for future in done:
                    row, channel_id, where = in_flight.pop(future)
                    per_host[where] -= 1
                    finished.append((row, future.result(), channel_id))
                record_outcomes_durably(finished, now, stats)
