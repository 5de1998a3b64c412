"""The tables of the analytics page: their columns, shared by the page and the CSV export.

A column's ``kind`` says how the page shows it (``duration`` in seconds → "4 min", ``ratio`` 0-1 →
"95%"); the CSV writes the raw number, so a spreadsheet can compute with it.
"""

from dataclasses import dataclass

from incidents.models import Severity


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "count"  # count, text, duration, ratio, number


FIGURE_COLUMNS = (
    Column("incidents", "Incidents"),
    Column("mtta_seconds", "MTTA", "duration"),
    Column("mttr_seconds", "MTTR", "duration"),
    Column("ack_sla_compliance", "Ack SLA", "ratio"),
    Column("resolve_sla_compliance", "Resolve SLA", "ratio"),
    Column("escalated", "Escalated"),
    Column("open", "Open"),
)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    section: str  # the report section holding the rows
    columns: tuple[Column, ...]


TABLES = {
    table.key: table
    for table in (
        Table(
            "groups",
            "Incidents by {group_by}",
            "groups",
            (Column("label", "{group_by}", "text"), *FIGURE_COLUMNS),
        ),
        Table(
            "services",
            "Volume by service and severity",
            "services",
            (
                Column("label", "Service", "text"),
                Column("total", "Incidents"),
                *(Column(sev.value, sev.label) for sev in Severity),
            ),
        ),
        Table(
            "severities", "By severity", "severities", (Column("label", "Severity", "text"), *FIGURE_COLUMNS)
        ),
        Table(
            "sources",
            "Noisiest alert sources",
            "sources",
            (
                Column("label", "Source", "text"),
                Column("kind", "Kind", "text"),
                Column("alerts", "Alerts"),
                Column("incidents", "Incidents"),
                Column("alerts_per_incident", "Alerts per incident", "number"),
                Column("escalated", "Escalated"),
            ),
        ),
        Table(
            "bottlenecks",
            "Where incidents wait",
            "bottlenecks",
            (
                Column("label", "Stage", "text"),
                Column("incidents", "Incidents"),
                Column("mean_seconds", "Mean time in stage", "duration"),
            ),
        ),
        Table(
            "waiting",
            "Waiting now",
            "waiting",
            (
                Column("label", "Stage", "text"),
                Column("incidents", "Incidents"),
                Column("oldest_waiting_seconds", "Oldest waiting", "duration"),
            ),
        ),
        Table(
            "approval_wait",
            "Approval wait",
            "approval_wait",
            (
                Column("decided", "Decided in range"),
                Column("approved", "Approved"),
                Column("rejected", "Rejected"),
                Column("mean_wait_seconds", "Mean wait", "duration"),
                Column("p50_wait_seconds", "Median (p50)", "duration"),
                Column("p95_wait_seconds", "p95", "duration"),
                Column("waiting_now", "Waiting now"),
                Column("oldest_waiting_seconds", "Oldest waiting", "duration"),
            ),
        ),
        Table(
            "task_backlog",
            "Task backlog",
            "task_backlog",
            (
                Column("open_now", "Open now"),
                Column("overdue_now", "Overdue now"),
                Column("created", "Created in range"),
                Column("completed", "Completed in range"),
                Column("mean_time_to_complete_seconds", "Mean time to complete", "duration"),
            ),
        ),
        Table(
            "oncall",
            "On-call load per responder",
            "oncall",
            (
                Column("responder", "Responder", "text"),
                Column("time_zone", "Time zone", "text"),
                Column("interruptions", "Interruptions"),
                Column("business", "Business hours"),
                Column("off_hours", "Off hours"),
                Column("sleep", "Sleep hours"),
                Column("notifications", "Notifications"),
                Column("incidents", "Incidents"),
                Column("hours_on_call", "Hours on call", "number"),
            ),
        ),
        Table(
            "fairness",
            "Fairness across rotations",
            "fairness_rows",
            (
                Column("schedule", "Rotation", "text"),
                Column("responder", "Responder", "text"),
                Column("hours_on_call", "Hours on call", "number"),
                Column("hours_share", "Share of hours", "ratio"),
                Column("fair_share", "Fair share", "ratio"),
                Column("interruptions", "Interruptions"),
                Column("interruptions_share", "Share of interruptions", "ratio"),
                Column("sleep", "Sleep hours"),
                Column("hours_fairness", "Hours fairness index", "number"),
                Column("interruptions_fairness", "Interruptions fairness index", "number"),
            ),
        ),
    )
}


def title_of(table: Table, group_by: str) -> str:
    return table.title.format(group_by=group_by)


def headers_of(table: Table, group_by: str) -> list[str]:
    return [column.header.format(group_by=group_by.capitalize()) for column in table.columns]
