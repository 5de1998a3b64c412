"""On-call and notifications: one delivery tick, a pipeline of claim → send → record outcome (see
the package docstring for the phases and what a crash between them leaves behind)."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from notifications.delivery.batch import DeliveryStats
from notifications.delivery.claim import ClaimInDoubt, claim_due, give_back, reclaim_lost
from notifications.delivery.outcome import record_outcomes_durably
from notifications.delivery.send import Carriers, prepare
from notifications.models import Medium
from notifications.senders import Outgoing, send
from notifications.senders.mail_connections import KeptConnections
from opsplatform.core.durable import DATABASE_UNREACHABLE, while_leased

logger = logging.getLogger(__name__)

FINISH_GATHER_SECONDS = 0.025
# A tick that found rows keeps looking for this long after the outbox ran dry: during a storm new
# pages arrive every few milliseconds, and a tick that ended would leave them for the next one
# (the next beat, or the next escalation that pages someone).
LINGER_SECONDS = 1.0
LINGER_POLL_SECONDS = 0.1
# How long a claimed row waits in the tick for a slot of its destination before it goes back to the
# outbox (see _Tick.held and _Tick.release). A healthy receiver frees a slot within milliseconds; a
# slow one does not get the row's slot elsewhere held for longer than this.
HOLD_SECONDS = 0.5
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


class _Tick:
    """The state of one delivery tick: its sender pool, the requests in flight and their
    destinations, and what the last claim found."""

    def __init__(self, pool, now, *, batch_size: int, concurrency: int, stats: DeliveryStats):
        self.pool, self.now, self.stats = pool, now, stats
        self.batch_size, self.concurrency = batch_size, concurrency
        # Claim in chunks of at least this many free slots: one claim transaction per row would
        # cost more than the requests themselves against a fast receiver.
        self.min_claim = max(1, min(batch_size, concurrency // 2))
        self.per_destination = settings.NOTIFICATION_DELIVERY_PER_DESTINATION
        self.carriers = Carriers()
        self.mail_connections = KeptConnections()
        self.in_flight: dict = {}
        # Claimed rows waiting for a slot of their busy destination, oldest first per destination:
        # destination -> [(row, request, held since)].
        self.held: dict[str, deque] = defaultdict(deque)
        # Requests in flight per destination: a slow host gets at most this many of the threads.
        self.per_host: Counter = Counter()
        self.drained = self.waiting_for_slot = False
        # Rows the database may hold as claimed by this tick although nothing is sent for them:
        # (claim token, row ids or None for all of the claim's, due again at, lease until).
        self.unsettled: list[tuple] = []
        # When rows were found last (see LINGER_SECONDS).
        self.found_at = float("-inf")

    def held_count(self) -> int:
        return sum(len(rows) for rows in self.held.values())

    def should_claim(self) -> bool:
        free = self.concurrency - len(self.in_flight) - self.held_count()
        # Slots held by destinations at their limit cannot take claimed rows for them anyway: wait
        # for half of the others, not of all (else one slow mail server would make every other
        # destination wait until all of its own requests are back).
        blocked = sum(n for where, n in self.per_host.items() if where and n >= self.per_destination)
        enough = max(1, min(self.min_claim, (self.concurrency - blocked) // 2))
        return not self.drained and not self.waiting_for_slot and free >= enough

    def claim_and_send(self) -> None:
        want = min(self.concurrency - len(self.in_flight) - self.held_count(), self.batch_size)
        # E-mails all go to the one mail server: while it is at its limit, leave them in the outbox
        # rather than claim them and give them back.
        skip = (Medium.EMAIL,) if self.per_host[SMTP] >= self.per_destination else ()
        now = self.now or timezone.now()
        rows, examined = self._claim(now, want, skip)
        self.drained = examined < want and not skip
        if rows:
            self.found_at = time.monotonic()
        busy, submitted = [], 0
        for row in rows:
            outgoing = prepare(row, self.carriers)
            outgoing.mail_connections = self.mail_connections
            where = destination(outgoing)
            if where and self.per_host[where] >= self.per_destination:
                if len(self.held[where]) < self.per_destination:
                    self.held[where].append((row, outgoing, time.monotonic()))
                else:
                    busy.append(row)
                continue
            self._submit(row, outgoing, where)
            submitted += 1
        # Everything claimed was for busy hosts: claim again once a request finishes, rather than
        # churning through that host's whole backlog meanwhile.
        self.waiting_for_slot = bool(rows) and not submitted
        self.release(busy, now)

    def _claim(self, now: datetime, want: int, skip: tuple) -> tuple[list, int]:
        """``claim_due``. A claim that met a database error is settled later (``settle``); with
        requests in flight the tick finishes them (their outcomes are stored once the database is
        back) and claims nothing more."""
        try:
            _, rows, examined = claim_due(now, want, self.stats, skip_media=skip)
        except ClaimInDoubt as doubt:
            self.unsettled.append((doubt.token, None, None, doubt.lease_until))
            if not self.in_flight:
                raise
            logger.warning("database unreachable; finishing the %d requests in flight", len(self.in_flight))
            return [], 0
        return rows, examined

    def _submit(self, row, outgoing, where: str) -> None:
        self.per_host[where] += 1
        self.in_flight[self.pool.submit(send, outgoing)] = (row, outgoing.channel_id, where)

    def send_held(self) -> None:
        """Hand held rows to the slots their destinations freed."""
        for where, rows in self.held.items():
            while rows and self.per_host[where] < self.per_destination:
                row, outgoing, _ = rows.popleft()
                self._submit(row, outgoing, where)

    def release_held(self, *, all_of_them: bool = False) -> None:
        """Give back the held rows that waited ``HOLD_SECONDS`` (or all of them, at the end)."""
        before = float("inf") if all_of_them else time.monotonic() - HOLD_SECONDS
        expired = []
        for rows in self.held.values():
            while rows and rows[0][2] < before:
                expired.append(rows.popleft()[0])
        self.release(expired, self.now or timezone.now())

    def release(self, rows: list, now: datetime) -> None:
        """Rows for a destination at its limit go back to the outbox untried, for a later claim:
        sending them here would take this worker's slots from every other destination while the
        busy one is slow. A row waits in the tick (``held``) for up to ``HOLD_SECONDS`` first, up
        to the destination's limit again: under a storm on one healthy receiver a slot frees
        within milliseconds, and giving the row back would delay its page by the deferral."""
        if not rows:
            return
        until = now + timedelta(seconds=settings.NOTIFICATION_BUSY_DESTINATION_DEFER_SECONDS)
        by_claim = defaultdict(list)
        for row in rows:
            by_claim[row.claim_token, row.lease_until].append(row.pk)
        for (token, lease_until), ids in by_claim.items():
            try:
                give_back(token, ids=ids, due_at=until)
            except DATABASE_UNREACHABLE:
                # Never at the cost of the outcomes still to store: settled after them.
                self.unsettled.append((token, ids, until, lease_until))

    def settle(self) -> None:
        """Give back what the database may hold as claimed by this tick though nothing was sent for
        it: claims whose answer was lost, rows whose release failed. Called with no request in
        flight, as a late outcome would page twice where a late give-back only delays a page. Waits
        out a database outage for as long as the rows' lease leaves time; past that they wait for
        their lease, and the next tick after it takes them over."""
        while self.unsettled:
            token, ids, due_at, lease_until = self.unsettled.pop(0)
            try:
                while_leased(
                    lambda: give_back(token, ids=ids, due_at=due_at),  # noqa: B023 - called at once
                    lease_until,
                    f"giving back the rows of claim {token}",
                )
            except DATABASE_UNREACHABLE:
                logger.warning("database unreachable; the rows of claim %s wait for their lease", token)

    def record_finished(self) -> None:
        done, _ = wait(self.in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
        if done and len(done) < len(self.in_flight):
            # Let the requests finishing right behind it join the same transaction: a few
            # milliseconds of delay for far fewer commits under load.
            more, _ = wait(set(self.in_flight) - done, timeout=FINISH_GATHER_SECONDS)
            done |= more
        if not done:
            self.release_held()
            return
        self.waiting_for_slot = False
        finished = []
        for future in done:
            row, channel_id, where = self.in_flight.pop(future)
            self.per_host[where] -= 1
            finished.append((row, future.result(), channel_id))
        # Before the outcomes are stored: the slots just freed go back to work at once.
        self.send_held()
        record_outcomes_durably(finished, self.now, self.stats)
        self.release_held()


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
    ``NOTIFICATION_DELIVERY_PER_DESTINATION`` of them; rows for a host at that limit wait in the
    tick for one of its slots for up to ``HOLD_SECONDS``, then go back to the outbox untried for a
    moment, so a slow receiver never holds up the others. A tick on the wall
    clock that found rows keeps looking for ``LINGER_SECONDS`` once the outbox ran dry; one for a
    fixed instant ends then.
    """
    batch_size = batch_size or settings.NOTIFICATION_DELIVERY_BATCH
    concurrency = concurrency or settings.NOTIFICATION_DELIVERY_CONCURRENCY
    stats = DeliveryStats()
    deadline = time.monotonic() + time_budget
    linger = LINGER_SECONDS if now is None else 0.0
    reclaim_lost(now or timezone.now(), stats)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
        tick = _Tick(pool, now, batch_size=batch_size, concurrency=concurrency, stats=stats)
        try:
            return _run(tick, deadline, linger)
        finally:
            # Rows still waiting for a slot go back untried (nothing was sent for them).
            tick.release_held(all_of_them=True)
            tick.settle()
            # The sender threads end with the tick; so do the mail connections they kept.
            tick.mail_connections.close_all()


def _run(tick: _Tick, deadline: float, linger: float) -> DeliveryStats:
    stats = tick.stats
    while True:
        if tick.unsettled and not tick.in_flight:
            tick.settle()
        if tick.should_claim() and time.monotonic() < deadline:
            tick.claim_and_send()
        if tick.in_flight:
            tick.record_finished()
            continue
        if time.monotonic() >= deadline:
            stats.out_of_time = not tick.drained
            return stats
        if tick.drained:
            if time.monotonic() - tick.found_at >= linger:
                return stats
            time.sleep(LINGER_POLL_SECONDS)
            tick.drained = False
