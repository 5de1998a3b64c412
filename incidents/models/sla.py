from datetime import time
from zoneinfo import ZoneInfo

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from incidents.models.enums import Calendar, Severity
from opsplatform.core.tenancy import TenantModel


def _weekdays():
    return [0, 1, 2, 3, 4]


def is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):  # unknown name (ZoneInfoNotFoundError is a KeyError), or a path
        return False
    return True


def policy_errors(policy) -> dict[str, str]:
    """What would make the policy's arithmetic fail for every incident it matches. Checked on every
    save; the readers still guard against rows stored before this check existed."""
    errors = {}
    if policy.time_zone and not is_time_zone(policy.time_zone):
        errors["time_zone"] = f"“{policy.time_zone}” is not a known time zone (e.g. Europe/Berlin)."
    days = policy.business_days or []
    if any(not 0 <= day <= 6 for day in days):
        errors["business_days"] = "Working days are 0 (Monday) to 6 (Sunday)."
    elif policy.calendar == Calendar.BUSINESS_HOURS and not days:
        errors["business_days"] = "Pick at least one working day."
    return errors


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

    def clean(self):
        super().clean()
        if errors := policy_errors(self):
            raise ValidationError(errors)
