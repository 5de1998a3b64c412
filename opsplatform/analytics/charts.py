"""The page's charts, built from the report with the shared renderer (``opsplatform.core.charts``)."""

from incidents.models import Severity
from opsplatform.core.charts import Chart, Series

SEVERITY_COLORS = {sev.value: f"--{sev.value}" for sev in Severity}
TOP = 12


def _short_day(iso: str) -> str:
    return iso[5:]  # MM-DD: the year is in the range the page states


def page_charts(report: dict) -> dict[str, Chart]:
    trend = report.get("severity_trend", [])
    days = [_short_day(row["day"]) for row in trend]
    charts = {
        "volume": Chart(
            kind="bar",
            title="Incidents per day by severity",
            description="New incidents each day of the range, stacked by severity.",
            labels=days,
            series=[
                Series(sev.label, [row[sev.value] for row in trend], SEVERITY_COLORS[sev.value])
                for sev in Severity
            ],
        ),
        "response": Chart(
            kind="line",
            title="MTTA and MTTR per day",
            description="Mean time to first acknowledgement and to resolution of each day's incidents.",
            labels=[_short_day(row["key"]) for row in report.get("trend", [])],
            series=[
                Series("MTTA", [row["mtta_seconds"] for row in report.get("trend", [])]),
                Series("MTTR", [row["mttr_seconds"] for row in report.get("trend", [])]),
            ],
            unit="duration",
        ),
    }
    services = report.get("services", [])[:TOP]
    charts["services"] = Chart(
        kind="hbar",
        title="Incidents by service",
        description=f"The {len(services)} services with the most incidents, stacked by severity.",
        labels=[row["label"] for row in services],
        series=[
            Series(sev.label, [row[sev.value] for row in services], SEVERITY_COLORS[sev.value])
            for sev in Severity
        ],
    )
    stages = report.get("bottlenecks", [])
    charts["bottlenecks"] = Chart(
        kind="hbar",
        title="Mean time in each stage",
        labels=[row["label"] for row in stages],
        series=[Series("Mean time", [row["mean_seconds"] for row in stages])],
        unit="duration",
    )
    load = report.get("oncall", [])[:TOP]
    charts["oncall"] = Chart(
        kind="hbar",
        title="Interruptions per responder",
        description="Interruptions in business, off and sleep hours, each in the responder's own time zone.",
        labels=[row["responder"] for row in load],
        series=[
            Series("Business hours", [row["business"] for row in load], "--series-1"),
            Series("Off hours", [row["off_hours"] for row in load], "--series-3"),
            Series("Sleep hours", [row["sleep"] for row in load], "--series-6"),
        ],
    )
    return charts
