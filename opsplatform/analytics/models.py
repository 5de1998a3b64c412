"""Rollup tables: one row per (organization, local day, team, service, severity, source) for
incidents, and one per (organization, local day, responder, team) for on-call load.

Days are the organization's calendar days (its time zone when the rollup was built; a change of
zone rebuilds the organization). Durations are summed in whole milliseconds in ``bigint`` columns,
so a mean over any range is the exact sum divided by the exact count, never a mean of means.

Ids of teams, services and integrations are plain integers, not foreign keys: a rollup row must
never hold a lock on, or cascade from, the rows it summarises; a deleted service's incidents are
re-summarised by the refresh tick (the trigger sees their ``service_id`` change).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class IncidentRollup(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    service_id = models.BigIntegerField(null=True)
    severity = models.CharField(max_length=8)
    integration_id = models.BigIntegerField(null=True)
    source = models.CharField(max_length=100, blank=True)

    incidents = models.IntegerField(default=0)
    open = models.IntegerField(default=0)
    alerts = models.BigIntegerField(default=0)
    acknowledged = models.IntegerField(default=0)
    ack_ms = models.BigIntegerField(default=0)
    resolved = models.IntegerField(default=0)
    resolve_ms = models.BigIntegerField(default=0)
    # Stages (bottlenecks): acknowledged → resolved, and resolved without any acknowledgement.
    ack_resolved = models.IntegerField(default=0)
    ack_to_resolve_ms = models.BigIntegerField(default=0)
    unacked_resolved = models.IntegerField(default=0)
    unacked_resolve_ms = models.BigIntegerField(default=0)
    ack_sla_met = models.IntegerField(default=0)
    ack_sla_breached = models.IntegerField(default=0)
    resolve_sla_met = models.IntegerField(default=0)
    resolve_sla_breached = models.IntegerField(default=0)
    escalated = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "day",
                    "team_id",
                    "service_id",
                    "severity",
                    "integration_id",
                    "source",
                ],
                name="incident_rollup_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="incident_rollup_org_day_idx")]

    def __str__(self):
        return f"{self.organization_id}/{self.day}/{self.service_id}/{self.severity}"


class OnCallRollup(models.Model):
    """Interruptions of one responder on one day, classified in the responder's own time zone."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    user_id = models.BigIntegerField()
    team_id = models.BigIntegerField(null=True)
    interruptions = models.IntegerField(default=0)
    business = models.IntegerField(default=0)
    off_hours = models.IntegerField(default=0)
    sleep = models.IntegerField(default=0)
    notifications = models.IntegerField(default=0)
    incidents = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "user_id", "team_id"],
                name="oncall_rollup_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="oncall_rollup_org_day_idx")]

    def __str__(self):
        return f"{self.organization_id}/{self.day}/user {self.user_id}"


class IncidentFact(models.Model):
    """What an incident row forgets: its first acknowledgement (a re-trigger clears
    ``acknowledged_at``) and whether escalation ever went past the first step. Kept by triggers."""

    incident_id = models.BigIntegerField(primary_key=True)
    first_ack_at = models.DateTimeField(null=True)
    escalated = models.BooleanField(default=False)

    def __str__(self):
        return f"incident {self.incident_id}"


class RollupChange(models.Model):
    """Append-only log written by the triggers: something at ``at`` changed in ``organization``.

    No unique key on purpose: a unique (organization, day) row would make every concurrent
    ingestion transaction of that day wait for the others to commit.
    """

    class Kind(models.IntegerChoices):
        INCIDENT = 1
        DELIVERY = 2

    id = models.BigAutoField(primary_key=True)
    organization_id = models.BigIntegerField()
    kind = models.SmallIntegerField(choices=Kind.choices)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.organization_id}: {self.get_kind_display()} at {self.at}"


class RollupState(models.Model):
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    time_zone = models.CharField(max_length=64)
    built_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.organization_id} ({self.time_zone})"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Computing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Report(models.Model):
    """A big range computed in the background: the page polls it and shows its progress."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=64)
    params = models.JSONField()
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "key", "-created_at"], name="analytics_report_key_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(status="pending"), name="report_pending_idx"
            ),
        ]

    def __str__(self):
        return f"report {self.pk} ({self.status}, {self.progress}%)"
