from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.enums import OPEN_STATUSES, AlertStatus, Priority, Severity, Status
from opsplatform.core.tenancy import TenantModel


class Incident(TenantModel):
    # No index on the organization alone: five of the table's indexes start with it and serve every
    # lookup by it; one of its own only cost each insert and each update off its page a write.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    service = models.ForeignKey(
        "incidents.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.SEV3)
    priority = models.CharField(max_length=4, choices=Priority.choices, default=Priority.P3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIGGERED)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_incidents"
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="responding_incidents"
    )
    dedup_key = models.CharField(max_length=255, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=100, blank=True, default="manual")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_incidents"
    )

    # Escalation timer: set on trigger, cleared on acknowledge/resolve; the paging engine claims it.
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveIntegerField(default=0)
    escalation_cycle = models.PositiveIntegerField(default=0)
    # Fencing token: bumped whenever a person changes the escalation (acknowledge, resolve, snooze,
    # escalate, reopen). Work computed under an older epoch is stale and must be dropped.
    escalation_epoch = models.PositiveIntegerField(default=0)

    # Alert ingestion: where the incident came from, the group it collects, and its alerts at a glance.
    # The counters are kept by the ingestion pipeline under the incident's row lock.
    integration = models.ForeignKey(
        "incidents.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    group_key = models.CharField(max_length=1024, blank=True)
    alerts_total = models.PositiveIntegerField(default=0, help_text="Distinct alerts attached.")
    alerts_firing = models.PositiveIntegerField(default=0)
    alert_occurrences = models.PositiveIntegerField(default=0, help_text="Alert events received.")
    last_alert_at = models.DateTimeField(null=True, blank=True)

    # SLA: due and warning instants (UTC) and the moment each was marked, so each fires once.
    sla_policy = models.ForeignKey(
        "incidents.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_due_at = models.DateTimeField(null=True, blank=True)
    ack_warn_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    resolve_warn_at = models.DateTimeField(null=True, blank=True)
    ack_warned_at = models.DateTimeField(null=True, blank=True)
    ack_breached_at = models.DateTimeField(null=True, blank=True)
    resolve_warned_at = models.DateTimeField(null=True, blank=True)
    resolve_breached_at = models.DateTimeField(null=True, blank=True)
    # The earliest pending SLA instant: the beat tick's timer (NULL while paused or when nothing is left).
    sla_next_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Dedup's guarantee: at most one open incident per key, under any concurrency.
            models.UniqueConstraint(
                fields=["organization", "dedup_key"],
                condition=Q(status__in=list(OPEN_STATUSES)) & ~Q(dedup_key=""),
                name="incident_open_dedup_key_unique",
            ),
        ]
        indexes = [
            # The list page: one organization, newest first, optionally by status.
            models.Index(fields=["organization", "-created_at", "-id"], name="incident_org_recent_idx"),
            models.Index(fields=["organization", "status", "-created_at"], name="incident_org_status_idx"),
            models.Index(fields=["organization", "service", "-created_at"], name="incident_org_service_idx"),
            # The list's other sorts (severity, recently updated) must not sort the whole tenant.
            models.Index(
                fields=["organization", "severity", "-created_at", "-id"], name="incident_org_severity_idx"
            ),
            models.Index(fields=["organization", "-updated_at", "-id"], name="incident_org_updated_idx"),
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(next_escalation_at__isnull=False),
                name="incident_escalation_due_idx",
            ),
            models.Index(
                fields=["snoozed_until"], condition=Q(status="snoozed"), name="incident_snooze_due_idx"
            ),
            models.Index(
                fields=["sla_next_at"], condition=Q(sla_next_at__isnull=False), name="incident_sla_due_idx"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class IncidentNote(TenantModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]


class Alert(TenantModel):
    """One alert (a firing or resolved signal from a source) attached to the incident it opened or joined.

    Ingestion fills it in; merging incidents moves alerts to the surviving incident. Within an open
    incident there is one row per dedup key; ``occurrences`` counts the events for it. An alert
    recorded without an incident (suppressed by a maintenance window or a rule, or a resolve that
    arrived before its firing) is ``standalone``: one such row per (organization, dedup key).
    """

    # Neither key needs an index of its own: (organization, dedup key) and (incident, dedup key)
    # serve every lookup by either, the deletes that cascade included.
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=False)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts", db_index=False
    )
    integration = models.ForeignKey(
        "incidents.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    dedup_key = models.CharField(max_length=255)
    group_key = models.CharField(max_length=1024, blank=True)
    fingerprint = models.CharField(max_length=255, blank=True, help_text="The source's own alert id.")
    # The source's identity of one firing episode (Alertmanager's startsAt): a re-sent notification
    # of the same episode is a duplicate and changes nothing.
    occurrence_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    title = models.CharField(max_length=1024)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.SEV3)
    source = models.CharField(max_length=255, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # True while the alert belongs to an incident believed open: the small partial index over these
    # rows is how a repeated alert finds its incident without scanning its whole history.
    active = models.BooleanField(default=False)
    standalone = models.BooleanField(default=False)
    suppressed = models.BooleanField(default=False)
    suppressed_reason = models.CharField(max_length=255, blank=True)
    suppressed_window = models.ForeignKey(
        "incidents.MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppressed_alerts",
    )
    # No database constraint: raw payloads expire on their own schedule (see RawPayload). No index
    # either: nothing looks alerts up by payload, and an unindexed column keeps the update of a
    # repeated alert a HOT update (no index entries written).
    raw_payload = models.ForeignKey(
        "incidents.RawPayload",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="alerts",
    )

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            models.Index(fields=["organization", "dedup_key"], name="alert_org_dedup_idx"),
            models.Index(
                fields=["organization", "dedup_key"], condition=Q(active=True), name="alert_active_dedup_idx"
            ),
            models.Index(fields=["incident", "dedup_key"], name="alert_incident_dedup_idx"),
            # Not on last_seen_at, which every repeat of an alert changes (see raw_payload above).
            models.Index(fields=["integration"], condition=Q(suppressed=True), name="alert_suppressed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedup_key"],
                condition=Q(standalone=True),
                name="alert_standalone_dedup_unique",
            ),
        ]

    def __str__(self):
        return self.title
