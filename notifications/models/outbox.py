from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from opsplatform.core.tenancy import TenantModel


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead letter"
    CANCELLED = "cancelled", "Not needed"


# Rows a delivery tick may claim (FAILED rows wait for their next_attempt_at).
CLAIMABLE = (NotificationStatus.PENDING, NotificationStatus.FAILED)


class Medium(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Webhook"
    WEB_PUSH = "web_push", "Browser push"


class Notification(TenantModel):
    """One message to one recipient through one channel for one escalation step: the outbox row.

    ``idempotency_key`` is unique: it is a digest of (incident, escalation epoch, cycle, step,
    recipient, channel or contact method), so a duplicate tick or a retried task inserts nothing
    new. The key is also sent to receivers (``X-OpsPlatform-Delivery``, ``Idempotency-Key``) so they
    can drop the rare repeat after a worker died mid-request.
    """

    # No index on the organization alone: the outbox's other indexes of it start with it
    # (opsplatform.core.key_indexes).
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=False)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=64)  # unique: Meta (opsplatform.core.unique_keys)
    epoch = models.PositiveIntegerField(default=0)
    cycle = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    policy = models.ForeignKey(
        "notifications.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(
        "notifications.Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    contact_method = models.ForeignKey(
        "notifications.ContactMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    medium = models.CharField(max_length=16, choices=Medium.choices)
    # Masked, for display: "a…@example.com", "+49…1234", "#ops (Slack)". Never a secret.
    destination = models.CharField(max_length=200, blank=True)
    # A channel with several recipients that each need their own request (a Twilio channel's numbers)
    # gets one row per recipient; this is that recipient.
    target_address = models.CharField(max_length=320, blank=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    # A delayed personal rule ("after 5 minutes: SMS"): sent only while the incident is unacknowledged.
    conditional = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=6)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A claimed row is "sending" until its lease runs out; then another worker may take it over.
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    resend_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="notification_idempotency_unique")
        ]
        indexes = [
            # The delivery tick's two claims: due rows, and rows whose sender vanished.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="notification_due_idx",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="notification_lease_idx"
            ),
            models.Index(fields=["organization", "incident", "created_at"], name="notification_incident_idx"),
            # The API's list: newest first, paged by cursor over (created_at, id).
            models.Index(fields=["organization", "-created_at", "-id"], name="notification_recent_idx"),
            models.Index(fields=["organization", "status", "-created_at"], name="notification_status_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_medium_display()} → {self.destination} ({self.status})"

    @property
    def is_dead(self) -> bool:
        return self.status == NotificationStatus.DEAD

    @cached_property
    def attempt_entries(self) -> list:
        """The delivery attempts, oldest first, from wherever the event log keeps them; lists read
        them for all their rows at once (``notifications.eventlogs.attach_attempts``)."""
        from notifications.eventlogs import attach_attempts  # the log names this model

        attach_attempts([self])
        return self.__dict__["attempt_entries"]


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Delivered"
    FAILED = "failed", "Failed"
    # The worker died while the request was in flight: it may or may not have arrived.
    LOST = "lost", "Outcome unknown"


class NotificationAttempt(TenantModel):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["notification_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="notification_attempt_unique")
        ]
