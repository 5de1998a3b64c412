"""Probe locations: where a monitor is checked from, and each location's vote on it.

``local`` (the built-in scheduler) is not a row: it is the monitor's own ``next_check_at``. A remote
location is a ``ProbeLocation`` with an agent token (stored hashed); ``MonitorLocation`` holds, per
monitor and location, the location's schedule (remote ones), its lease and its confirmed verdict.
A monitor checked from remote locations also gets a ``MonitorLocation`` for local (``location`` null)
when it is checked locally, so every location votes the same way.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

LOCAL = "local"


class ProbeLocation(TenantModel):
    name = models.SlugField(max_length=64, help_text="Shown on each result, e.g. eu-west or office.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="probe_location_name_unique"),
            models.CheckConstraint(condition=~Q(name=LOCAL), name="probe_location_not_local"),
        ]

    def __str__(self):
        return self.name


class MonitorLocation(models.Model):
    monitor = models.ForeignKey("monitoring.Monitor", on_delete=models.CASCADE, related_name="placements")
    location = models.ForeignKey(ProbeLocation, null=True, blank=True, on_delete=models.CASCADE)
    # Remote locations only: when the agent should check next, and the due time it leased (the
    # fencing token a result must carry: a late or repeated report of an old lease is dropped).
    next_check_at = models.DateTimeField(null=True, blank=True)
    leased_due_at = models.DateTimeField(null=True, blank=True)
    # The location's own hysteresis: failing after down_after failures, clear after up_after successes.
    failing = models.BooleanField(default=False)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_outcome = models.CharField(max_length=16, blank=True, default="")
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "location"], name="monitor_location_unique", nulls_distinct=False
            )
        ]
        indexes = [
            # An agent's lease: its location's due rows in due order.
            models.Index(
                fields=["location", "next_check_at"],
                condition=Q(location__isnull=False),
                name="monitor_location_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.monitor_id}@{self.location_name}"

    @property
    def location_name(self) -> str:
        return self.location.name if self.location_id else LOCAL
