from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Withdrawn"


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class ApprovalRequest(TenantModel):
    """One entry of a run into an approval gate. The approvers are resolved when the run enters the
    gate and stored: a later change of roles or on-call does not move the goal posts mid-request.

    Timers are columns the approvals tick claims: ``remind_at`` (remind once), ``escalate_at`` (add the
    fallback approver once); each is cleared when done.
    """

    run = models.ForeignKey(
        "workflows.WorkflowRun", on_delete=models.CASCADE, related_name="approval_requests"
    )
    state = models.CharField(max_length=48)
    event = models.CharField(max_length=48)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=8)
    required = models.PositiveSmallIntegerField()
    approver_ids = ArrayField(models.BigIntegerField(), default=list)
    received = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The target of the decisions' composite foreign key (request, requester): a decision
            # carries its request's requester, so the CHECK below can see it.
            models.UniqueConstraint(fields=["id", "requester"], name="approval_request_requester"),
            models.CheckConstraint(condition=Q(required__gte=1), name="approval_request_required_positive"),
        ]
        indexes = [
            models.Index(fields=["remind_at"], condition=Q(status="pending"), name="approval_remind_idx"),
            models.Index(fields=["escalate_at"], condition=Q(status="pending"), name="approval_escalate_idx"),
            GinIndex(fields=["approver_ids"], name="approval_approvers_idx"),
        ]

    def __str__(self):
        return f"approval #{self.pk} of run {self.run_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


class ApprovalDecision(TenantModel):
    """One approver's verdict. Separation of duties is held by the database itself: the requester
    column must equal the request's (composite foreign key, migration 0002) and may never be the
    approver (CHECK), and one approver decides once (UNIQUE)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="approval_decision_once"),
            models.CheckConstraint(condition=~Q(approver=F("requester")), name="approval_not_by_requester"),
        ]

    def __str__(self):
        return f"{self.verdict} by {self.approver_id} on request {self.request_id}"
