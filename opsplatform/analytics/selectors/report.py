"""The whole analytics report for one set of filters, as plain JSON-able data.

The page renders it, the background job stores it, the CSV export writes its tables and the API
returns its parts: one computation, so the same filters give the same figures everywhere.
"""

from django.utils import timezone

from opsplatform.analytics.selectors import incidents, oncall
from opsplatform.analytics.selectors.filters import Filters
from opsplatform.analytics.selectors.workflows import workflow_figures

# Sections in the order they are computed; a background job reports progress after each.
SECTIONS = (
    "totals",
    "trend",
    "groups",
    "services",
    "severities",
    "sources",
    "bottlenecks",
    "waiting",
    "workflows",
    "oncall",
    "fairness",
)


def build_report(f: Filters, *, now=None, progress=None) -> dict:
    """``progress(done, total)`` is called after each section (the background job records it)."""
    now = now or timezone.now()
    report: dict = {"params": f.as_params(), "computed_at": now.isoformat()}
    per_schedule = None

    def step(name, compute):
        report[name] = compute()
        if progress is not None:
            progress(SECTIONS.index(name) + 1, len(SECTIONS))

    # Two reads of the rollup feed every incident table: sums per (day, severity) and per
    # (service, severity); the API's selectors derive their figures from the same rows.
    day_rows = incidents.day_severity_rows(f)
    step("totals", lambda: incidents.totals_from(day_rows))
    step("trend", lambda: incidents.by_day_from(f, day_rows))
    report["severity_trend"] = incidents.severity_trend_from(f, day_rows)
    service_rows = incidents.service_severity_rows(f)
    groups = {
        "day": lambda: report["trend"],
        "service": lambda: incidents.by_service_from(f, service_rows),
        "severity": lambda: incidents.by_severity_from(day_rows),
    }
    step("groups", groups[f.group_by])
    step("services", lambda: incidents.service_severity_from(f, service_rows))
    step("severities", lambda: incidents.by_severity_from(day_rows))
    step("sources", lambda: incidents.noisiest_sources(f))
    step("bottlenecks", lambda: incidents.bottlenecks_from(day_rows))
    step("waiting", lambda: incidents.waiting_now(f, now))
    step("workflows", lambda: workflow_figures(f, now))
    per_schedule = oncall.schedule_hours(f, now)
    step("oncall", lambda: oncall.load(f, now, per_schedule))
    step("fairness", lambda: oncall.fairness(f, now, per_schedule))
    return report
