from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.models import Medium
from opsplatform.core.tenancy import TenantModel


class NoticeKind(models.TextChoices):
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    APPROVAL_REMINDER = "approval_reminder", "Approval reminder"
    APPROVAL_ESCALATED = "approval_escalated", "Approval escalated to you"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    AUTOMATION = "automation", "Automation notice"


class NoticeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead letter"


class Notice(TenantModel):
    """One message to one person through one of their contact methods about an approval, a task or
    an automation: the workflows outbox row.

    The incident outbox (``notifications.Notification``) is bound to an incident and its escalation
    step, which an approval is not; these rows follow the same rules (unique idempotency key,
    due-time column, retries with backoff, dead letter) and go out through the notification senders.
    ``contact_method`` empty: the person's account e-mail address.
    A notice about an approval carries its signed approve/reject link; ``link_used_at`` makes that
    link single-use.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    idempotency_key = models.CharField(max_length=120)  # unique: Meta (opsplatform.core.unique_keys)
    approval = models.ForeignKey(
        "workflows.ApprovalRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    task = models.ForeignKey(
        "workflows.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    execution = models.ForeignKey(
        "workflows.AutomationExecution", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact_method = models.ForeignKey(
        "notifications.ContactMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    medium = models.CharField(max_length=16, choices=Medium.choices, default=Medium.EMAIL)
    # Masked (``ContactMethod.masked_address``): shown on pages, never the full address.
    destination = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=NoticeStatus.choices, default=NoticeStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="notice_idempotency_unique")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="notice_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient_id}"
