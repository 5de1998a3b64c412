"""Rules, their executions, and the consumer's cursor over the ledger.

Registered with the ``workflows`` app (``workflows.models`` imports this module).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class Trigger(models.TextChoices):
    INCIDENT_TRIGGERED = "incident.triggered", "Incident triggered"
    INCIDENT_ACKNOWLEDGED = "incident.acknowledged", "Incident acknowledged"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACHED = "sla.breached", "SLA breached"
    WORKFLOW_STATE = "workflow.state_entered", "Workflow entered a state"
    TASK_OVERDUE = "task.overdue", "Task overdue"
    MONITOR_DOWN = "monitor.down", "Monitor down"


class ExecutionState(models.TextChoices):
    PENDING = "pending", "Pending"
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Failed, will retry"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    REJECTED = "rejected", "Approval rejected"


FINISHED_STATES = (
    ExecutionState.SUCCEEDED,
    ExecutionState.FAILED,
    ExecutionState.SKIPPED,
    ExecutionState.REJECTED,
)
DUE_STATES = (ExecutionState.PENDING, ExecutionState.RETRYING, ExecutionState.RUNNING)


class AutomationRule(TenantModel):
    """When ``trigger`` happens and ``conditions`` hold, run ``actions`` (validated by
    ``workflows.automation.spec``). ``webhook_secret`` is the HMAC key of its webhook and
    remediation calls, encrypted at rest (``opsplatform.core.crypto``, context ``automation-rule:<id>``)."""

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    #: for "workflow entered a state": the state key, and optionally the workflow's key
    trigger_state = models.CharField(max_length=48, blank=True)
    trigger_workflow = models.CharField(max_length=64, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    once_per_incident = models.BooleanField(default=False)
    actions = models.JSONField(default=list)
    webhook_secret = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "workflows"
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "enabled"], name="automation_rule_enabled_idx")]

    def __str__(self):
        return self.name


class AutomationExecution(TenantModel):
    """One action of one rule for one ledger event. ``idempotency_key`` is unique: the consumer may
    read an event twice (at least once), the action is planned once; with "once per incident" the
    key names the incident instead of the event, so the database itself refuses a second firing.

    Retries live here (``attempts``, ``next_attempt_at``, ``last_error``, ``state``), not in a worker's
    memory: a restarted worker picks the row up where the last one left it.
    """

    # Neither the rule nor the incident has an index of its own: (rule, created) and (incident,
    # created) serve every lookup by either (opsplatform.core.key_indexes).
    rule = models.ForeignKey(
        AutomationRule, on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    idempotency_key = models.CharField(max_length=160)  # unique: Meta (opsplatform.core.unique_keys)
    entry_id = models.BigIntegerField(help_text="The ledger entry that fired the rule.")
    entry_sequence = models.BigIntegerField()
    event_verb = models.CharField(max_length=64)
    event_at = models.DateTimeField()
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    action_index = models.PositiveSmallIntegerField()
    action = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=ExecutionState.choices, default=ExecutionState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    outcome = models.JSONField(default=dict, blank=True)
    approval_run = models.ForeignKey(
        "workflows.WorkflowRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "workflows"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1, max_attempts__lte=20), name="automation_max_attempts_range"
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="automation_idempotency_unique"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "retrying", "running"]),
                name="automation_due_idx",
            ),
            models.Index(
                fields=["state"], condition=Q(state="awaiting_approval"), name="automation_waiting_idx"
            ),
            models.Index(fields=["rule", "-created_at"], name="automation_rule_recent_idx"),
            models.Index(fields=["incident", "-created_at"], name="automation_incident_idx"),
        ]

    def __str__(self):
        return f"{self.action.get('type', '?')} of rule {self.rule_id} for entry {self.entry_id}"

    @property
    def action_type(self) -> str:
        return self.action.get("type", "")

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class AutomationCursor(models.Model):
    """How far the consumer has read an organization's ledger chain, by ``sequence``.

    Sequences are handed out under the chain's advisory lock, held until commit (audit.services),
    so within one organization they become visible in order: nothing can appear later below the
    cursor. The cursor advances in the transaction that inserts the executions it planned.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="automation_cursor"
    )
    sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "workflows"

    def __str__(self):
        return f"automation cursor of {self.organization_id} at {self.sequence}"
