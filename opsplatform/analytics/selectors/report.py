"""The whole analytics report for one set of filters, as plain JSON-able data.

The page renders it, the background job stores it, the CSV export writes its tables and the API
returns its parts: one computation, so the same filters give the same figures everywhere.
"""

from django.utils import timezone

from incidents.models import Severity
from opsplatform.analytics.selectors import incidents, oncall
from opsplatform.analytics.selectors.filters import Filters

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
    "oncall",
    "fairness",
)


def _severity_trend(f: Filters, trend: list[dict]) -> list[dict]:
    per_day = incidents.severity_by_day(f)
    return [
        {"day": row["key"], **{sev.value: per_day.get(row["key"], {}).get(sev.value, 0) for sev in Severity}}
        for row in trend
    ]


def build_report(f: Filters, *, now=None, progress=None) -> dict:
    """``progress(done, total)`` is called after each section (the background job records it)."""
    now = now or timezone.now()
    report: dict = {"params": f.as_params(), "computed_at": now.isoformat()}
    per_schedule = None

    def step(name, compute):
        report[name] = compute()
        if progress is not None:
            progress(SECTIONS.index(name) + 1, len(SECTIONS))

    step("totals", lambda: incidents.totals(f))
    step("trend", lambda: incidents.by_day(f))
    report["severity_trend"] = _severity_trend(f, report["trend"])
    step("groups", lambda: incidents.grouped(f) if f.group_by != "day" else report["trend"])
    step("services", lambda: incidents.service_severity(f))
    step("severities", lambda: incidents.by_severity(f))
    step("sources", lambda: incidents.noisiest_sources(f))
    step("bottlenecks", lambda: incidents.bottlenecks(f))
    step("waiting", lambda: incidents.waiting_now(f, now))
    per_schedule = oncall.schedule_hours(f, now)
    step("oncall", lambda: oncall.load(f, now, per_schedule))
    step("fairness", lambda: oncall.fairness(f, now, per_schedule))
    return report
