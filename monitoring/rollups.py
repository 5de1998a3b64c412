"""Per-minute and per-hour rollups of raw results (retention: ``monitoring/retention.py``).

Rollups are recomputed from raw rows for recent buckets (``INSERT … ON CONFLICT DO UPDATE``), so a
tick that runs twice, or late, writes the same numbers. Percentiles are PostgreSQL's
``percentile_cont`` over the bucket's latencies.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from audit.eventlog import backend_name
from monitoring.eventlogs import CHECK_RESULTS

UPSERT_SQL = """
INSERT INTO monitoring_rollup
  (monitor_id, period, start, checks, failures, degraded, latency_p50, latency_p95)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (monitor_id, period, start) DO UPDATE SET
  checks = EXCLUDED.checks, failures = EXCLUDED.failures, degraded = EXCLUDED.degraded,
  latency_p50 = EXCLUDED.latency_p50, latency_p95 = EXCLUDED.latency_p95
"""

ROLLUP_SQL = """
INSERT INTO monitoring_rollup
  (monitor_id, period, start, checks, failures, degraded, latency_p50, latency_p95)
SELECT monitor_id, %(period)s, date_trunc(%(unit)s, checked_at) AS bucket,
       count(*) FILTER (WHERE outcome <> 'not_permitted'),
       count(*) FILTER (WHERE outcome = 'down'),
       count(*) FILTER (WHERE outcome = 'degraded'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
FROM monitoring_checkresult
WHERE checked_at >= %(since)s AND checked_at < %(until)s
GROUP BY monitor_id, bucket
ON CONFLICT (monitor_id, period, start) DO UPDATE SET
  checks = EXCLUDED.checks, failures = EXCLUDED.failures, degraded = EXCLUDED.degraded,
  latency_p50 = EXCLUDED.latency_p50, latency_p95 = EXCLUDED.latency_p95
"""


def roll_up(*, now=None, minutes_back: int = 10) -> int:
    """Recompute the minute buckets of the last ``minutes_back`` minutes and the hour buckets they touch."""
    now = now or timezone.now()
    until = now.replace(second=0, microsecond=0)
    since = until - timedelta(minutes=minutes_back)
    hour_since = since.replace(minute=0)
    written = 0
    if backend_name() == "mongo":
        written += _roll_up_rows("minute", CHECK_RESULTS.between(since, until))
        return written + _roll_up_rows("hour", CHECK_RESULTS.between(hour_since, now))
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL, {"period": "minute", "unit": "minute", "since": since, "until": until})
        written += cursor.rowcount
        cursor.execute(ROLLUP_SQL, {"period": "hour", "unit": "hour", "since": hour_since, "until": now})
        written += cursor.rowcount
    return written


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _roll_up_rows(period: str, rows) -> int:
    """ROLLUP_SQL over results read from MongoDB: the same buckets, counts and percentiles."""
    buckets: dict[tuple, list] = defaultdict(list)
    for row in rows:
        start = row.checked_at.replace(second=0, microsecond=0)
        if period == "hour":
            start = start.replace(minute=0)
        buckets[(row.monitor_id, start)].append(row)
    values = []
    for (monitor_id, start), results in buckets.items():
        latencies = [r.latency_ms for r in results if r.latency_ms is not None]
        values.append(
            (
                monitor_id,
                period,
                start,
                sum(1 for r in results if r.outcome != "not_permitted"),
                sum(1 for r in results if r.outcome == "down"),
                sum(1 for r in results if r.outcome == "degraded"),
                percentile_cont(latencies, 0.5),
                percentile_cont(latencies, 0.95),
            )
        )
    if values:
        with connection.cursor() as cursor:
            cursor.executemany(UPSERT_SQL, values)
    return len(values)
