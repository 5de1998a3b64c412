"""Public status pages: components bound to monitors and services, public notices (incidents and
scheduled maintenance) with their updates, e-mail subscribers and their delivery outbox.

Everything a page shows comes from these rows and from monitor states; internal incident titles,
notes and alert data never do. A public notice may point at the internal incident it speaks for
(``incident``), which is shown to operators only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

HOST_VALIDATOR = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "A host name like status.example.com.",
)


class ComponentStatus(models.TextChoices):
    """Atlassian Statuspage's component states (and its strings, so tools that read them keep working)."""

    OPERATIONAL = "operational", "Operational"
    MAINTENANCE = "under_maintenance", "Under maintenance"
    DEGRADED = "degraded_performance", "Degraded performance"
    PARTIAL = "partial_outage", "Partial outage"
    MAJOR = "major_outage", "Major outage"


# Worse is higher; a component shows the worst state any of its sources gives it.
STATUS_RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.MAINTENANCE: 1,
    ComponentStatus.DEGRADED: 2,
    ComponentStatus.PARTIAL: 3,
    ComponentStatus.MAJOR: 4,
}


class StatusPage(TenantModel):
    slug = models.SlugField(max_length=60, unique=True, help_text="The page lives at /status/<slug>/.")
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True, max_length=2000)
    custom_domain = models.CharField(
        max_length=253,
        blank=True,
        default="",
        validators=[HOST_VALIDATOR],
        help_text="Also serve the page at the root of this host (it must be in ALLOWED_HOSTS).",
    )
    published = models.BooleanField(default=False, help_text="Unpublished pages answer 404 to the public.")
    subscriptions_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["custom_domain"], condition=~Q(custom_domain=""), name="statuspage_domain_unique"
            )
        ]

    def __str__(self):
        return self.title


class StatusComponent(TenantModel):
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=150)
    description = models.CharField(max_length=500, blank=True)
    group = models.CharField(
        max_length=100, blank=True, help_text="Components with the same group are shown together."
    )
    position = models.PositiveIntegerField(default=0)
    monitors = models.ManyToManyField("monitoring.Monitor", blank=True, related_name="status_components")
    services = models.ManyToManyField("incidents.Service", blank=True, related_name="status_components")
    show_uptime = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["page", "name"], name="statuscomponent_name_unique")]

    def __str__(self):
        return self.name


class NoticeKind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Scheduled maintenance"


class NoticeStatus(models.TextChoices):
    # Incidents
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    # Maintenance
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


INCIDENT_STATUSES = (
    NoticeStatus.INVESTIGATING,
    NoticeStatus.IDENTIFIED,
    NoticeStatus.MONITORING,
    NoticeStatus.RESOLVED,
)
MAINTENANCE_STATUSES = (
    NoticeStatus.SCHEDULED,
    NoticeStatus.IN_PROGRESS,
    NoticeStatus.VERIFYING,
    NoticeStatus.COMPLETED,
)
CLOSED_STATUSES = (NoticeStatus.RESOLVED, NoticeStatus.COMPLETED)


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class StatusNotice(TenantModel):
    """A public incident or a scheduled maintenance on one page: its own public title and updates.

    ``incident`` and ``maintenance_window`` link the internal records for operators; nothing of
    theirs is published. While open, an incident notice sets its components to ``component_status``
    (at least); a maintenance notice sets them to under maintenance between its scheduled times.
    """

    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=NoticeStatus.choices)
    impact = models.CharField(max_length=8, choices=Impact.choices, default=Impact.MINOR)
    component_status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.DEGRADED
    )
    components = models.ManyToManyField(StatusComponent, blank=True, related_name="notices")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    maintenance_window = models.ForeignKey(
        "incidents.MaintenanceWindow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="incident")
                | (
                    Q(scheduled_for__isnull=False, scheduled_until__isnull=False)
                    & Q(scheduled_until__gt=models.F("scheduled_for"))
                ),
                name="notice_maintenance_has_range",
            )
        ]
        indexes = [models.Index(fields=["page", "resolved_at", "-created_at"], name="notice_page_open_idx")]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def maintenance_active(self, now) -> bool:
        return (
            self.kind == NoticeKind.MAINTENANCE
            and self.is_open
            and self.scheduled_for <= now < self.scheduled_until
        )


class StatusNoticeUpdate(TenantModel):
    """One public update of a notice: what subscribers receive and the page shows, newest first."""

    notice = models.ForeignKey(StatusNotice, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=NoticeStatus.choices)
    body = models.TextField(max_length=5000)
    notify = models.BooleanField(default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_status_display()}: {self.body[:40]}"


class StatusSubscriber(TenantModel):
    """An e-mail address subscribed to a page: counted only once confirmed (double opt-in)."""

    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="subscribers")
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Bumped on each confirmation request: the outbox key of that mail, and what a confirm link signs.
    confirm_round = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["page", "email"], name="subscriber_unique")]

    def __str__(self):
        return self.email

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class DeliveryKind(models.TextChoices):
    CONFIRM = "confirm", "Confirmation request"
    UPDATE = "update", "Notice update"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead letter"
    CANCELLED = "cancelled", "Not needed"


class StatusDelivery(TenantModel):
    """The outbox: one mail to one subscriber. ``idempotency_key`` is unique, so posting the same
    update twice, or a fan-out that runs again, inserts nothing new."""

    subscriber = models.ForeignKey(StatusSubscriber, on_delete=models.CASCADE, related_name="deliveries")
    update = models.ForeignKey(
        StatusNoticeUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=8, choices=DeliveryKind.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="statusdelivery_due_idx",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="statusdelivery_lease_idx"
            ),
        ]

    def __str__(self):
        return f"{self.kind} to {self.subscriber_id} ({self.status})"
