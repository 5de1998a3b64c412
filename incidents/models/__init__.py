from incidents.models.catalog import Service
from incidents.models.enums import (
    OPEN_STATUSES,
    AlertStatus,
    Calendar,
    Priority,
    Severity,
    SLAState,
    Status,
    Tier,
)
from incidents.models.incident import Alert, Incident, IncidentNote
from incidents.models.integration import Integration, IntegrationKind
from incidents.models.maintenance import MaintenanceWindow, Recurrence
from incidents.models.payload import RawPayload
from incidents.models.routing import RoutingAction, RoutingRule
from incidents.models.sla import SLAPolicy

__all__ = [
    "OPEN_STATUSES",
    "Alert",
    "AlertStatus",
    "Calendar",
    "Incident",
    "IncidentNote",
    "Integration",
    "IntegrationKind",
    "MaintenanceWindow",
    "Priority",
    "RawPayload",
    "Recurrence",
    "RoutingAction",
    "RoutingRule",
    "SLAPolicy",
    "SLAState",
    "Service",
    "Severity",
    "Status",
    "Tier",
]
