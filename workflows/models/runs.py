from django.conf import settings
from django.db import models
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class WorkflowRun(TenantModel):
    """One pass through a definition's version. ``state`` changes only through
    ``workflows.services.runs.transition``; ``last_event`` makes a repeated event a no-op."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey("workflows.WorkflowVersion", on_delete=models.PROTECT, related_name="runs")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service = models.ForeignKey(
        "incidents.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=48)
    last_event = models.CharField(max_length=48, blank=True)
    fields = models.JSONField(default=dict, blank=True)
    #: set when something other than a person started the run (an incident's playbook): at most one
    #: run per key, so an at-least-once trigger starts it once
    trigger_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "state"], name="workflow_run_state_idx"),
            models.Index(fields=["organization", "-created_at", "-id"], name="workflow_run_recent_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @property
    def spec(self):
        return self.version.parsed

    @property
    def definition(self):
        return self.version.definition
