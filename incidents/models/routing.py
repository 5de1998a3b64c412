from django.db import models
from django.utils import timezone

from incidents.models.enums import Priority, Severity
from opsplatform.core.tenancy import TenantModel


class RoutingAction(models.TextChoices):
    ROUTE = "route", "Route (service, severity, priority, labels)"
    SUPPRESS = "suppress", "Suppress (record, open no incident)"
    DROP = "drop", "Drop (count only)"


class RoutingRule(TenantModel):
    """One rule of an integration: when every matcher matches, the action applies. First match wins.

    ``matchers`` is a list of ``{"field": "labels.service" | "severity" | "source" | "title" | "status",
    "op": "equals" | "regex" | "exists", "value": "…", "negate": false}``; an empty list matches every
    alert. See ``incidents.ingest.matching``.
    """

    integration = models.ForeignKey(
        "incidents.Integration", on_delete=models.CASCADE, related_name="routing_rules"
    )
    name = models.CharField(max_length=150)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    matchers = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=16, choices=RoutingAction.choices, default=RoutingAction.ROUTE)
    route_service = models.ForeignKey(
        "incidents.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    route_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    set_priority = models.CharField(max_length=4, choices=Priority.choices, blank=True)
    add_labels = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["integration", "position", "id"]
        indexes = [models.Index(fields=["integration", "position"], name="routing_rule_order_idx")]

    def __str__(self):
        return self.name
