"""The check tick: claim due monitors in batches, probe them concurrently, record each result.

* Claim: ``SELECT … FOR UPDATE SKIP LOCKED`` on due, unpaused monitors in due order; each claimed row's
  ``next_check_at`` moves to a lease (longer than any probe can take) before the claim commits, so a
  second tick running meanwhile skips them, and a worker that dies mid-batch only delays them.
* Probe: outside any transaction, all of a batch at once with asyncio, at most
  ``MONITORING_CONCURRENCY`` in flight; HTTP probes run on a thread pool of that size (the guarded
  client is synchronous).
* Record: one transaction per monitor (``services.results.record_result``), so one bad row never stops
  the batch; it sets the real next due time.
Heartbeat monitors have nothing to probe: a due one is late, and is recorded in the claim itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring import probes
from monitoring.models import Monitor, MonitorKind
from monitoring.probes.base import ProbeResult, ProbeSpec
from monitoring.services.results import heartbeat_late, record_result

logger = logging.getLogger(__name__)

# Longer than the longest probe (timeouts are capped at 60 s) plus recording.
LEASE = timedelta(seconds=120)


def _claim(now, batch: int) -> tuple[list[tuple[ProbeSpec, object]], int]:
    claimed = []
    with transaction.atomic():
        due = list(
            Monitor.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organization", "service")
            .filter(paused=False, next_check_at__lte=now)
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


async def _probe_all(specs: list[ProbeSpec], concurrency: int) -> list[ProbeResult]:
    gate = asyncio.Semaphore(concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe") as executor:

        async def one(spec):
            async with gate:
                return await probes.run(spec, executor)

        return await asyncio.gather(*(one(spec) for spec in specs))


def run_check_tick(*, now=None, batch: int | None = None, budget_seconds: float | None = None) -> int:
    """Check every due monitor, batch after batch, until none is due or the time budget is spent."""
    batch = batch or settings.MONITORING_BATCH_SIZE
    budget = budget_seconds if budget_seconds is not None else settings.MONITORING_TICK_BUDGET_SECONDS
    fixed_now = now
    started = time.monotonic()
    checked = 0
    while True:
        claim_time = fixed_now or timezone.now()
        claimed, seen = _claim(claim_time, batch)
        if claimed:
            results = asyncio.run(_probe_all([spec for spec, _ in claimed], settings.MONITORING_CONCURRENCY))
            for (spec, due_at), result in zip(claimed, results, strict=True):
                try:
                    record_result(spec.monitor_id, result, now=fixed_now or timezone.now(), due_at=due_at)
                except Exception:
                    logger.exception("monitor %s: recording the result failed", spec.monitor_id)
        checked += seen
        if seen < batch or time.monotonic() - started > budget:
            return checked
