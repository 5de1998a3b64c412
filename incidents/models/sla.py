from datetime import time

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from incidents.models.enums import Calendar, Severity
from opsplatform.core.tenancy import TenantModel


def _weekdays():
    return [0, 1, 2, 3, 4]


class SLAPolicy(TenantModel):
    """Targets for acknowledging and resolving. The most specific policy wins:
    service+severity, then service, then severity, then the organization default (neither set)."""

    name = models.CharField(max_length=150)
    service = models.ForeignKey(
        "incidents.Service", null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    ack_target_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolve_target_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    calendar = models.CharField(max_length=16, choices=Calendar.choices, default=Calendar.ALWAYS)
    business_start = models.TimeField(default=time(9, 0))
    business_end = models.TimeField(default=time(17, 0))
    business_days = ArrayField(
        models.PositiveSmallIntegerField(), default=_weekdays, blank=True, help_text="0=Monday … 6=Sunday"
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="Empty: the incident team's time zone.")
    warning_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    pause_while_snoozed = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service", "severity"],
                name="sla_policy_scope_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=models.Q(business_end__gt=models.F("business_start")),
                name="sla_business_hours_order",
            ),
        ]

    def __str__(self):
        return self.name
