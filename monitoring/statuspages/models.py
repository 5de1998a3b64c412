"""Public status pages: components bound to monitors and services, public notices (incidents and
scheduled maintenance) with their updates, subscribers (e-mail addresses and webhook endpoints) and
their delivery outbox.

Everything a page shows comes from these rows and from monitor states; internal incident titles,
notes and alert data never do. A public notice may point at the internal incident it speaks for
(``incident``), which is shown to operators only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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
    # When the maintenance tick next has to act on this notice (start at ``scheduled_for``, complete
    # at ``scheduled_until``); None once it is closed, and always for incidents.
    transition_due_at = models.DateTimeField(null=True, blank=True)

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
        indexes = [
            models.Index(fields=["page", "resolved_at", "-created_at"], name="notice_page_open_idx"),
            models.Index(
                fields=["transition_due_at"],
                condition=Q(transition_due_at__isnull=False),
                name="notice_transition_due_idx",
            ),
        ]

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


class Transition(models.TextChoices):
    """An update the maintenance tick posted by itself, at the window's start or end."""

    START = "start", "Maintenance started"
    END = "end", "Maintenance ended"


class StatusNoticeUpdate(TenantModel):
    """One public update of a notice: what subscribers receive and the page shows, newest first.

    ``component_states`` is each component's state right after the update was posted (what webhook
    subscribers receive with it, the same on every retry).
    """

    notice = models.ForeignKey(StatusNotice, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=NoticeStatus.choices)
    body = models.TextField(max_length=5000)
    notify = models.BooleanField(default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    transition = models.CharField(max_length=8, choices=Transition.choices, blank=True, default="")
    component_states = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # However the tick runs (twice, concurrently, after a restart), a window starts and ends once.
            models.UniqueConstraint(
                fields=["notice", "transition"], condition=~Q(transition=""), name="notice_transition_once"
            )
        ]

    def __str__(self):
        return f"{self.get_status_display()}: {self.body[:40]}"


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class StatusSubscriber(TenantModel):
    """Who receives a page's updates: an e-mail address (counted once confirmed: double opt-in) or a
    webhook endpoint an operator registered (confirmed by them; signed with its own secret).

    A webhook whose endpoint keeps failing for good is disabled (``disabled_at``): it receives
    nothing until an operator enables it again. ``last_delivery_*`` is what its last attempt got.
    """

    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="subscribers")
    kind = models.CharField(max_length=8, choices=SubscriberKind.choices, default=SubscriberKind.EMAIL)
    email = models.EmailField(max_length=254, blank=True, default="")
    url = models.CharField(max_length=2000, blank=True, default="")
    description = models.CharField(max_length=150, blank=True, default="")
    # The webhook's signing secret, encrypted (opsplatform.core.crypto, context "statuswebhook:<id>").
    secret = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Bumped on each confirmation request: the outbox key of that mail, and what a confirm link signs.
    confirm_round = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    consecutive_failures = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(1000)])
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_delivery_ok = models.BooleanField(null=True, blank=True)
    last_delivery_result = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["email", "url", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "email"], condition=Q(kind="email"), name="subscriber_unique"
            ),
            models.UniqueConstraint(
                fields=["page", "url"], condition=Q(kind="webhook"), name="subscriber_webhook_unique"
            ),
            models.CheckConstraint(
                condition=(Q(kind="email") & ~Q(email="") & Q(url=""))
                | (Q(kind="webhook") & ~Q(url="") & Q(email="")),
                name="subscriber_address_of_its_kind",
            ),
        ]

    def __str__(self):
        return self.email or self.endpoint

    @property
    def endpoint(self) -> str:
        """A webhook's URL as pages and lists show it: scheme and host (its path may be a credential)."""
        try:
            parts = urlsplit(self.url)
        except ValueError:
            return "…"
        return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "…"

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.disabled_at is None


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
    """The outbox: one mail or one webhook request to one subscriber. ``idempotency_key`` is unique,
    so posting the same update twice, or a fan-out that runs again, inserts nothing new.
    ``claim_token`` fences a claim: only the tick that holds the current one may send or finish."""

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
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(999)])
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
