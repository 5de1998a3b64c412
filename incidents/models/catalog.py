from django.db import models
from django.utils import timezone

from incidents.models.enums import Severity, Tier
from opsplatform.core.tenancy import TenantModel


class Service(TenantModel):
    """A thing that can break (payment, auth, orders…), owned by one team."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.TIER3)
    owner_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    runbook_links = models.JSONField(default=list, blank=True, help_text='[{"title": …, "url": …}]')
    labels = models.JSONField(default=dict, blank=True)
    default_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.SEV3)
    in_maintenance = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="service_slug_unique")]

    def __str__(self):
        return self.name
