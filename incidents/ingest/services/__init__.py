"""Every write to integrations, their routing rules and maintenance windows (one module each)."""

from incidents.ingest.services.integrations import (
    IssuedKey,
    integration_create,
    integration_delete,
    integration_rotate_key,
    integration_update,
)
from incidents.ingest.services.maintenance_windows import (
    MAINTENANCE_WINDOW_FIELDS,
    maintenance_window_create,
    maintenance_window_delete,
    maintenance_window_update,
)
from incidents.ingest.services.routing_rules import (
    ROUTING_RULE_FIELDS,
    routing_rule_create,
    routing_rule_delete,
    routing_rule_update,
    routing_rules_reorder,
)
from incidents.ingest.services.sample_event import SentTestEvent, integration_send_test_event

__all__ = [
    "MAINTENANCE_WINDOW_FIELDS",
    "ROUTING_RULE_FIELDS",
    "IssuedKey",
    "SentTestEvent",
    "integration_create",
    "integration_delete",
    "integration_rotate_key",
    "integration_send_test_event",
    "integration_update",
    "maintenance_window_create",
    "maintenance_window_delete",
    "maintenance_window_update",
    "routing_rule_create",
    "routing_rule_delete",
    "routing_rule_update",
    "routing_rules_reorder",
]
