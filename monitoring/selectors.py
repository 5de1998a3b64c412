"""Reads for the monitor pages: the filtered list, recent latencies for sparklines, chart series."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from audit.eventlog import backend_name
from monitoring.eventlogs import CHECK_RESULTS
from monitoring.models import CheckResult, Monitor, Rollup, RollupPeriod

SPARK_POINTS = 30

# The last N results of each monitor on the page: one query, served by checkresult_monitor_time_idx.
RECENT_SQL = """
SELECT r.monitor_id, r.latency_ms, r.outcome
FROM unnest(%(ids)s::bigint[]) AS m(id)
CROSS JOIN LATERAL (
  SELECT monitor_id, latency_ms, outcome, checked_at FROM monitoring_checkresult
  WHERE monitor_id = m.id ORDER BY checked_at DESC LIMIT %(n)s
) r
ORDER BY r.monitor_id, r.checked_at
"""


def monitors_for_list(organization, *, states=(), kinds=(), q: str = ""):
    queryset = Monitor.objects.for_organization(organization).select_related("service")
    if states:
        queryset = queryset.filter(state__in=states)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    if q:
        queryset = queryset.filter(name__icontains=q) | queryset.filter(target__icontains=q)
    return queryset.order_by("name", "pk")


def recent_latencies(monitor_ids: list[int], n: int = SPARK_POINTS) -> dict[int, list[float | None]]:
    """Latencies of each monitor's last ``n`` results, oldest first (None for a failed check)."""
    if not monitor_ids:
        return {}
    found: dict[int, list[float | None]] = defaultdict(list)
    if backend_name() == "mongo":
        for monitor_id in monitor_ids:  # a page of monitors: one indexed read each
            for row in reversed(CHECK_RESULTS.find({"monitor_id": monitor_id}, limit=n)):
                found[monitor_id].append(None if row.outcome == "down" else row.latency_ms)
        return found
    with connection.cursor() as cursor:
        cursor.execute(RECENT_SQL, {"ids": monitor_ids, "n": n})
        for monitor_id, latency, outcome in cursor.fetchall():
            found[monitor_id].append(None if outcome == "down" else latency)
    return found


def rollups(monitor: Monitor, *, period: str, since) -> list[Rollup]:
    return list(Rollup.objects.filter(monitor=monitor, period=period, start__gte=since).order_by("start"))


def recent_results(monitor: Monitor, limit: int = 50) -> list[CheckResult]:
    return CHECK_RESULTS.find({"monitor_id": monitor.pk}, limit=limit)


def day_and_month(monitor: Monitor):
    now = timezone.now()
    return (
        rollups(monitor, period=RollupPeriod.MINUTE, since=now - timedelta(hours=24)),
        rollups(monitor, period=RollupPeriod.HOUR, since=now - timedelta(days=30)),
    )
