"""The check tick: claim monitors falling due, start each probe at its due time, record each result.

* Claim: ``SELECT … FOR UPDATE SKIP LOCKED`` on unpaused monitors due before ``now + lookahead`` (the
  tick's interval and a margin), in due order; each claimed row's ``next_check_at`` moves to a lease
  (longer than any probe can take) before the claim commits, so a tick running meanwhile skips them,
  and a worker that dies mid-tick only delays them. Claiming ahead is what keeps lateness below the
  tick's interval: a check does not wait for the next tick, it starts at its due instant.
* Probe: on one event loop per process, on a daemon thread of its own (``ProbeLoop``), at most
  ``MONITORING_CONCURRENCY`` in flight; the blocking parts (the guarded HTTP client, name resolution)
  run on a fixed thread pool of that size, kept for the life of the process.
* Record: in the calling thread, as probes finish, those finished together in one transaction when
  they change no state (``services.batch``), else one transaction per monitor
  (``services.results.record_result``: ledger entry, incident); either sets the next due time.
Heartbeat monitors have nothing to probe: a due one is late, and is recorded in the claim itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from monitoring import legacy, probes
from monitoring.models import Monitor, MonitorKind
from monitoring.probes.base import ProbeResult, ProbeSpec
from monitoring.services.batch import Item, record_batch
from monitoring.services.results import heartbeat_late

logger = logging.getLogger(__name__)

# Longer than the longest probe (timeouts are capped at 60 s), the lookahead, and recording.
LEASE = timedelta(seconds=120)
RECORD_WAIT_SECONDS = 1.0
RECORD_GATHER_SECONDS = 0.05


class ProbeLoop:
    """An event loop on a daemon thread with a fixed pool for blocking probe work.

    Made on first use in the process that probes (a Celery pool process, after the fork), and kept:
    creating a pool of threads per tick cost more than the probes on a busy machine.
    """

    def __init__(self, concurrency: int):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe")
        self.loop.set_default_executor(self.executor)
        self.gate = asyncio.Semaphore(concurrency)
        threading.Thread(target=self.loop.run_forever, name="probe-loop", daemon=True).start()

    def submit(self, spec: ProbeSpec, delay: float) -> concurrent.futures.Future:
        """Probe ``spec`` after ``delay`` seconds; the future holds (start time, result)."""
        return asyncio.run_coroutine_threadsafe(self._check(spec, delay), self.loop)

    async def _check(self, spec: ProbeSpec, delay: float):
        if delay > 0:
            await asyncio.sleep(delay)
        async with self.gate:
            started = timezone.now()
            return started, await probes.run(spec, self.executor)

    async def _gather(self, specs):
        return await asyncio.gather(*(self._check(spec, 0) for spec in specs))

    def probe_all(self, specs: list[ProbeSpec]) -> list[ProbeResult]:
        """Probe all at once and wait (the benchmark's baseline; agents use the same loop)."""
        done = asyncio.run_coroutine_threadsafe(self._gather(specs), self.loop).result()
        return [result for _started, result in done]


_probe_loop: ProbeLoop | None = None
_probe_loop_lock = threading.Lock()


def probe_loop() -> ProbeLoop:
    global _probe_loop  # noqa: PLW0603 - one loop per process, made lazily (after a fork)
    with _probe_loop_lock:
        if _probe_loop is None or _probe_loop.pid != os.getpid():
            _probe_loop = ProbeLoop(settings.MONITORING_CONCURRENCY)
        return _probe_loop


def _claim(now, horizon, batch: int) -> tuple[list[tuple[ProbeSpec, object]], int]:
    claimed = []
    with transaction.atomic():
        due = list(
            Monitor.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization", "service")
            .filter(paused=False)
            # A heartbeat is late only once its deadline has passed; probes are claimed ahead.
            .filter(
                Q(next_check_at__lte=now) | Q(next_check_at__lte=horizon) & ~Q(kind=MonitorKind.HEARTBEAT)
            )
            .order_by("next_check_at")[:batch]
        )
        for monitor in due:
            if monitor.kind == MonitorKind.HEARTBEAT:
                try:
                    with transaction.atomic():
                        heartbeat_late(monitor, now=now)
                except Exception:
                    logger.exception("heartbeat monitor %s: recording the late check failed", monitor.pk)
                    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=now + LEASE)
                continue
            claimed.append((ProbeSpec.of(monitor), monitor.next_check_at))
        Monitor.objects.filter(pk__in=[spec.monitor_id for spec, _ in claimed]).update(
            next_check_at=now + LEASE
        )
    return claimed, len(due)


def _record_done(pending: dict, fixed_now, *, wait: float) -> None:
    """Record, together, the probes finished now or within ``wait`` seconds of the first to finish."""
    done, _ = concurrent.futures.wait(list(pending), timeout=wait, return_when=FIRST_COMPLETED)
    items = []
    for future in done:
        spec, due_at = pending.pop(future)
        try:
            started, result = future.result()
        except Exception:
            logger.exception("monitor %s: the probe failed", spec.monitor_id)
            continue
        items.append(Item(spec.monitor_id, result, fixed_now or started, due_at))
    record_batch(items)


def _record_all(pending: dict, fixed_now) -> None:
    """Record each probe as it finishes, until none is left (or the lease would run out)."""
    deadline = time.monotonic() + LEASE.total_seconds()
    while pending and time.monotonic() < deadline:
        _record_done(pending, fixed_now, wait=RECORD_WAIT_SECONDS)
        # Let a few more finish: a batch of many costs about what a batch of one does.
        time.sleep(RECORD_GATHER_SECONDS if pending else 0)
    if pending:
        logger.error("%d probes did not finish within the lease; their monitors wait for it", len(pending))


def run_check_tick(
    *, now=None, batch: int | None = None, budget_seconds: float | None = None, lookahead: float | None = None
) -> int:
    """Check every monitor due before ``now + lookahead``, batch after batch, until none is left or the
    time budget for claiming is spent; return when every claimed check is recorded.

    With a fixed ``now`` (tests) nothing is claimed ahead and nothing waits for the clock.
    """
    batch = batch or settings.MONITORING_BATCH_SIZE
    budget = budget_seconds if budget_seconds is not None else settings.MONITORING_TICK_BUDGET_SECONDS
    if now is not None:
        lookahead = 0.0
    elif lookahead is None:
        lookahead = settings.MONITORING_LOOKAHEAD_SECONDS
    fixed_now = now
    started = time.monotonic()
    loop = probe_loop()
    pending: dict = {}
    checked = 0
    try:
        legacy.sync(now=fixed_now)
    except Exception:
        logger.exception("heartbeat integrations: syncing their monitors failed")
    while True:
        claim_time = fixed_now or timezone.now()
        claimed, seen = _claim(claim_time, claim_time + timedelta(seconds=lookahead), batch)
        for spec, due_at in claimed:
            delay = 0.0 if fixed_now else (due_at - claim_time).total_seconds()
            pending[loop.submit(spec, delay)] = (spec, due_at)
        checked += seen
        if seen < batch or time.monotonic() - started > budget:
            break
        _record_done(pending, fixed_now, wait=0)
    # In this thread: its database connection (and, in tests, its transaction).
    _record_all(pending, fixed_now)
    return checked
