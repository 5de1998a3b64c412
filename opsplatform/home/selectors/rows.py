"""What every incident card shows for one incident: its SLA state and the deadline it counts to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, Value, When

from incidents.models import OPEN_STATUSES, Incident, Status
from incidents.sla.policy import next_due, sla_state

# Unacknowledged first: the order people should look at open incidents in.
STATUS_RANK = Case(
    When(status=Status.TRIGGERED, then=Value(0)),
    When(status=Status.ACKNOWLEDGED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    sla: str  # SLAState value
    deadline_kind: str  # "acknowledge" / "resolve" / ""
    deadline: datetime | None

    @property
    def assignees(self):
        return self.incident.assignees.all()  # prefetched by open_incidents()


def open_incidents(organization):
    """Open incidents with what a row needs, unacknowledged first, then by severity, oldest first."""
    return (
        Incident.objects.for_organization(organization)
        .filter(status__in=list(OPEN_STATUSES))
        .select_related("service")
        .prefetch_related("assignees")
        .annotate(status_rank=STATUS_RANK)
        .order_by("status_rank", "severity", "created_at", "id")
    )


def rows(incidents, now) -> list[IncidentRow]:
    result = []
    for incident in incidents:
        due = next_due(incident)
        result.append(
            IncidentRow(
                incident=incident,
                sla=sla_state(incident, now),
                deadline_kind=due[0] if due else "",
                deadline=due[1] if due else None,
            )
        )
    return result
