"""Per-minute and per-hour rollups of raw results (retention: ``monitoring/retention.py``).

Rollups are recomputed from raw rows for recent buckets (``INSERT … ON CONFLICT DO UPDATE``), so a
tick that runs twice, or late, writes the same numbers. Percentiles are PostgreSQL's
``percentile_cont`` over the bucket's latencies.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

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
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL, {"period": "minute", "unit": "minute", "since": since, "until": until})
        written += cursor.rowcount
        cursor.execute(ROLLUP_SQL, {"period": "hour", "unit": "hour", "since": hour_since, "until": now})
        written += cursor.rowcount
    return written
