"""Every write to services, incidents and SLA policies goes through these functions."""

from incidents.services.catalog import service_create, service_delete, service_update
from incidents.services.create import incident_create
from incidents.services.edits import (
    incident_add_note,
    incident_add_responders,
    incident_reassign,
    incident_update,
)
from incidents.services.lifecycle import (
    incident_acknowledge,
    incident_escalate,
    incident_reopen,
    incident_resolve,
    incident_snooze,
    incident_unsnooze,
)
from incidents.services.merge import incident_merge

__all__ = [
    "incident_acknowledge",
    "incident_add_note",
    "incident_add_responders",
    "incident_create",
    "incident_escalate",
    "incident_merge",
    "incident_reassign",
    "incident_reopen",
    "incident_resolve",
    "incident_snooze",
    "incident_unsnooze",
    "incident_update",
    "service_create",
    "service_delete",
    "service_update",
]
