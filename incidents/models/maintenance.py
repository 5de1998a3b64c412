from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class Recurrence(models.TextChoices):
    ONCE = "once", "One-off"
    WEEKLY = "weekly", "Weekly"


class MaintenanceWindow(TenantModel):
    """While a window is active, alerts for its service (or matching its label matchers) are recorded
    as suppressed: no incident, nobody paged.

    One-off windows run from ``starts_at`` to ``ends_at`` (UTC). Weekly windows start at ``start_time``
    wall-clock time in ``time_zone`` on each of ``weekdays`` and last ``duration_minutes`` of wall-clock
    time, so "Sunday 01:00-03:00 Europe/Berlin" stays 01:00-03:00 local across daylight-saving
    changes (and is one hour long on the night the clocks go forward). ``starts_at``/``ends_at`` bound
    a weekly window's validity when set.
    """

    name = models.CharField(max_length=150)
    service = models.ForeignKey(
        "incidents.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
    )
    matchers = models.JSONField(default=list, blank=True, help_text="Alert matchers, as in routing rules.")
    recurrence = models.CharField(max_length=8, choices=Recurrence.choices, default=Recurrence.ONCE)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]),
        default=list,
        blank=True,
        help_text="0=Monday … 6=Sunday",
    )
    start_time = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)]
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recurrence="weekly")
                | (Q(starts_at__isnull=False, ends_at__isnull=False) & Q(ends_at__gt=models.F("starts_at"))),
                name="maintenance_once_has_range",
            ),
            models.CheckConstraint(
                condition=Q(recurrence="once") | Q(start_time__isnull=False, duration_minutes__isnull=False),
                name="maintenance_weekly_has_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "enabled", "ends_at"], name="maintenance_active_idx"),
        ]

    def __str__(self):
        return self.name
