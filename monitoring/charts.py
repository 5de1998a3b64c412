"""The monitor page's charts, built from rollups for ``{% chart %}``."""

from __future__ import annotations

from django.utils import timezone

from opsplatform.core.charts import Chart, Series


def latency_chart(monitor, minutes) -> Chart | None:
    if not minutes:
        return None
    zone = timezone.get_current_timezone()
    labels = [r.start.astimezone(zone).strftime("%H:%M") for r in minutes]
    return Chart(
        kind="line",
        title="Latency, last 24 hours",
        description=f"Median and 95th percentile response time of {monitor.name} per minute, in seconds.",
        labels=labels,
        series=[
            Series("p50", [None if r.latency_p50 is None else r.latency_p50 / 1000 for r in minutes]),
            Series("p95", [None if r.latency_p95 is None else r.latency_p95 / 1000 for r in minutes]),
        ],
        unit="duration",
    )


def uptime_chart(monitor, hours) -> Chart | None:
    if not hours:
        return None
    zone = timezone.get_current_timezone()
    return Chart(
        kind="bar",
        title="Uptime per hour, last 30 days",
        description=f"Share of successful checks of {monitor.name} per hour.",
        labels=[r.start.astimezone(zone).strftime("%d %b %H:00") for r in hours],
        series=[
            Series(
                "uptime",
                [None if not r.checks else (r.checks - r.failures) / r.checks for r in hours],
                color="--ok",
            )
        ],
        unit="ratio",
    )
