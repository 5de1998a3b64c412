"""Recording many check results at once: the steady state of a large deployment.

Most checks change nothing but counters: the monitor was up and is still up. Those are written
together, one transaction for the lot (lock the rows in id order, insert the results in one
statement, update the monitors in one statement), since a row at a time costs five round trips per
check and the check tick waited on them more than on anything else (docs/benchmarks.md).

A result that changes a state, flapping or alerting, or that belongs to a monitor checked from
several locations, takes the one-row path (``results.record_result``: ledger entry, incident) after
the batch commits. If the batch fails as a whole, every result takes the one-row path, so one bad
row never loses the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from monitoring.eventlogs import CHECK_RESULTS
from monitoring.models import CheckResult, Monitor, MonitorState
from monitoring.probes.base import ProbeResult
from monitoring.services.results import next_due, record_result
from monitoring.state import advance

logger = logging.getLogger(__name__)

QUIET_FIELDS = [
    "consecutive_failures",
    "consecutive_successes",
    "history",
    "last_checked_at",
    "last_latency_ms",
    "last_message",
    "next_check_at",
    "updated_at",
]


@dataclass(frozen=True)
class Item:
    monitor_id: int
    result: ProbeResult
    now: datetime
    due_at: datetime | None


def _quiet_step(monitor: Monitor, item: Item):
    """The state machine's step when it changes no state, flapping or alerting; else None."""
    if monitor.remote_locations:
        return None
    step = advance(
        state=monitor.state,
        flapping=monitor.flapping,
        consecutive_failures=monitor.consecutive_failures,
        consecutive_successes=monitor.consecutive_successes,
        history=monitor.history,
        outcome=item.result.outcome,
        down_after=monitor.down_after,
        up_after=monitor.up_after,
        failure_ratio=monitor.failure_ratio,
        ratio_window=monitor.ratio_window,
    )
    if step.state != monitor.state or step.flapping != monitor.flapping:
        return None
    if not step.flapping and (step.state == MonitorState.DOWN) != monitor.alerting:
        return None  # an incident to open or resolve
    return step


def _write_quiet(items: list[Item]) -> list[Item]:
    """Write the quiet results in one transaction; return the items that need the one-row path."""
    loud = []
    with transaction.atomic():
        monitors = {
            m.pk: m
            for m in Monitor.objects.select_for_update(of=("self",))
            .filter(pk__in=sorted({i.monitor_id for i in items}), paused=False)
            .order_by("pk")
        }
        rows, changed, seen = [], [], set()
        for item in items:
            monitor = monitors.get(item.monitor_id)
            if monitor is None:
                continue  # paused or deleted meanwhile
            step = None if item.monitor_id in seen else _quiet_step(monitor, item)
            if step is None:
                loud.append(item)
                continue
            seen.add(item.monitor_id)
            result = item.result
            lateness = (item.now - item.due_at).total_seconds() * 1000 if item.due_at else None
            rows.append(
                CheckResult(
                    monitor_id=monitor.pk,
                    checked_at=item.now,
                    outcome=result.outcome,
                    latency_ms=result.latency_ms,
                    message=result.message[:500],
                    lateness_ms=lateness,
                )
            )
            monitor.consecutive_failures = step.consecutive_failures
            monitor.consecutive_successes = step.consecutive_successes
            monitor.history = step.history
            monitor.last_checked_at, monitor.last_latency_ms = item.now, result.latency_ms
            monitor.last_message = result.message[:500]
            monitor.next_check_at = next_due(monitor, due_at=item.due_at, now=item.now)
            monitor.updated_at = item.now
            changed.append(monitor)
        # Through the event-log port, per organization: results live in PostgreSQL or MongoDB.
        for organization_id, org_rows in _by_organization(rows, changed):
            CHECK_RESULTS.append(org_rows, organization_id=organization_id)
        Monitor.objects.bulk_update(changed, QUIET_FIELDS)
    return loud


def record_batch(items: list[Item]) -> int:
    """Record ``items`` (results of distinct checks); return how many were recorded quietly."""
    if not items:
        return 0
    try:
        loud = _write_quiet(items)
    except Exception:
        logger.exception("recording %d results together failed; recording them one by one", len(items))
        loud = items
    for item in loud:
        try:
            record_result(item.monitor_id, item.result, now=item.now, due_at=item.due_at)
        except Exception:
            logger.exception("monitor %s: recording the result failed", item.monitor_id)
    return len(items) - len(loud)


def _by_organization(rows, monitors):
    """The quiet results grouped by their monitor's organization (``rows`` and ``monitors`` are
    parallel: one result per monitor)."""
    groups: dict[int, list] = {}
    for row, monitor in zip(rows, monitors, strict=True):
        groups.setdefault(monitor.organization_id, []).append(row)
    return groups.items()
