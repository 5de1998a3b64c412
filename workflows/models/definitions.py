from django.conf import settings
from django.db import models
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class WorkflowDefinition(TenantModel):
    """A named state machine of an organization. Its spec lives in versions: editing publishes a new
    version, and every run keeps the version it started on."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    #: the built-in template this definition was installed from ("" for one an organization made)
    builtin = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="workflow_definition_key")
        ]

    def __str__(self):
        return self.name


class WorkflowVersion(models.Model):
    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["definition_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="workflow_version_number")
        ]

    def __str__(self):
        return f"{self.definition} v{self.number}"

    @property
    def parsed(self):
        from workflows.spec import parse  # a model property; spec imports nothing of the models

        cached = getattr(self, "_parsed", None)
        if cached is None:
            cached = self._parsed = parse(self.spec)
        return cached
