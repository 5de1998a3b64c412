"""The "Needs attention" card and the stat tiles above it: open incidents, unacknowledged first."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from incidents.models import OPEN_STATUSES, Incident, Severity, Status
from incidents.selectors import SLA_FILTERS
from opsplatform.home.selectors.rows import IncidentRow, open_incidents, rows

LIMIT = 12

GROUP_TITLES = {
    Status.TRIGGERED: "Unacknowledged",
    Status.ACKNOWLEDGED: "Acknowledged",
    Status.SNOOZED: "Snoozed",
}


def incident_list_url(**filters) -> str:
    """The incident list with ``filters`` applied (lists are repeated query parameters)."""
    query = urlencode(filters, doseq=True)
    return reverse("incidents:list") + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Stat:
    key: str
    label: str
    value: int
    tone: str  # "bad" / "warn" / "ok" / ""
    url: str


def stats(organization) -> list[Stat]:
    """Four counts in one query: unacknowledged, acknowledged, SLA breached and at risk (open only)."""
    counts = (
        Incident.objects.for_organization(organization)
        .filter(status__in=list(OPEN_STATUSES))
        .aggregate(
            triggered=Count("id", filter=Q(status=Status.TRIGGERED)),
            acknowledged=Count("id", filter=Q(status=Status.ACKNOWLEDGED)),
            breached=Count("id", filter=SLA_FILTERS["breached"]),
            at_risk=Count("id", filter=SLA_FILTERS["at_risk"]),
        )
    )
    return [
        Stat(
            "triggered",
            "Unacknowledged",
            counts["triggered"],
            "bad" if counts["triggered"] else "ok",
            incident_list_url(status=Status.TRIGGERED),
        ),
        Stat(
            "acknowledged",
            "Acknowledged",
            counts["acknowledged"],
            "warn" if counts["acknowledged"] else "",
            incident_list_url(status=Status.ACKNOWLEDGED),
        ),
        Stat(
            "breached",
            "SLA breached",
            counts["breached"],
            "bad" if counts["breached"] else "ok",
            incident_list_url(sla="breached", open=1),
        ),
        Stat(
            "at_risk",
            "SLA at risk",
            counts["at_risk"],
            "warn" if counts["at_risk"] else "",
            incident_list_url(sla="at_risk"),
        ),
    ]


@dataclass
class Group:
    status: str
    title: str
    url: str
    rows: list[IncidentRow] = field(default_factory=list)


@dataclass(frozen=True)
class Attention:
    groups: list[Group]
    total: int
    shown: int
    by_severity: list[tuple[str, int]]  # (severity, open incidents), worst first, only non-zero
    list_url: str

    @property
    def more(self) -> int:
        return self.total - self.shown


def needs_attention(organization, now, *, limit: int = LIMIT) -> Attention:
    """Open incidents grouped by status (unacknowledged first), worst severity first in each group."""
    incidents = list(open_incidents(organization)[:limit])
    severity_counts = dict(
        Incident.objects.for_organization(organization)
        .filter(status__in=list(OPEN_STATUSES))
        .values_list("severity")
        .annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    groups: dict[str, Group] = {}
    for row in rows(incidents, now):
        status = row.incident.status
        if status not in groups:
            groups[status] = Group(status, GROUP_TITLES[status], incident_list_url(status=status))
        groups[status].rows.append(row)
    return Attention(
        groups=list(groups.values()),
        total=sum(severity_counts.values()),
        shown=len(incidents),
        by_severity=[(s, severity_counts[s]) for s in Severity.values if severity_counts.get(s)],
        list_url=incident_list_url(open=1, sort="severity"),
    )
