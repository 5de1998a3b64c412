"""Admin of the incidents app: incidents, services and SLA policies; integrations and what routes
their alerts. Importing the modules registers their model admins."""

from incidents.admin import incidents, integrations

__all__ = ["incidents", "integrations"]
