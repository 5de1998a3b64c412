"""Pages for integrations (list, the console with its tabs, the per-kind forms, routing rules) and
maintenance windows. Every write goes through ``incidents.ingest.services``.

A new or rotated key is shown once, in the answer to the POST that made it (never stored in clear,
never put in a redirect or a session), with caching forbidden; everywhere else keys and
secret-looking values are masked (``incidents.ingest.masking``).
"""

from incidents.views.integrations.console import (
    integration_detail,
    integration_events,
    integration_rules,
    integration_test_event,
    integration_test_mapping,
)
from incidents.views.integrations.listing import integration_list
from incidents.views.integrations.maintenance import (
    maintenance_delete,
    maintenance_detail,
    maintenance_list,
    maintenance_new,
)
from incidents.views.integrations.rules import rule_delete, rule_edit, rule_move, rule_new
from incidents.views.integrations.setup import (
    integration_delete,
    integration_edit,
    integration_new,
    integration_rotate,
)

__all__ = [
    "integration_delete",
    "integration_detail",
    "integration_edit",
    "integration_events",
    "integration_list",
    "integration_new",
    "integration_rotate",
    "integration_rules",
    "integration_test_event",
    "integration_test_mapping",
    "maintenance_delete",
    "maintenance_detail",
    "maintenance_list",
    "maintenance_new",
    "rule_delete",
    "rule_edit",
    "rule_move",
    "rule_new",
]
