from incidents.models.catalog import Service
from incidents.models.enums import OPEN_STATUSES, Calendar, Priority, Severity, SLAState, Status, Tier
from incidents.models.incident import Alert, Incident, IncidentNote
from incidents.models.sla import SLAPolicy

__all__ = [
    "OPEN_STATUSES",
    "Alert",
    "Calendar",
    "Incident",
    "IncidentNote",
    "Priority",
    "SLAPolicy",
    "SLAState",
    "Service",
    "Severity",
    "Status",
    "Tier",
]
