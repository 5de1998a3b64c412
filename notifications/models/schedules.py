from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class Schedule(TenantModel):
    """A team's on-call schedule; computed in the team's IANA time zone (see ``notifications.oncall``)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="schedule_name_unique")]

    def __str__(self):
        return self.name

    @property
    def time_zone(self) -> str:
        return self.team.time_zone


class RotationKind(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    CUSTOM = "custom", "Every N hours"


class ScheduleLayer(TenantModel):
    """One rotation. Shifts are laid out on the team's wall clock: a daily 09:00 handoff stays at 09:00
    across daylight-saving changes (that day's shift is then 23 or 25 hours long).

    ``restrictions`` limits the layer to windows of local time, e.g.
    ``[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]`` (0 = Monday; an end at or before
    the start runs past midnight). Empty: always active. A higher ``priority`` wins over a lower one.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=0)
    rotation = models.CharField(max_length=8, choices=RotationKind.choices, default=RotationKind.WEEKLY)
    shift_hours = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Custom rotations only.")
    start_date = models.DateField()
    handoff_time = models.TimeField()
    restrictions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schedule_id", "priority", "id"]

    def __str__(self):
        return f"{self.schedule}: {self.name}"


class LayerParticipant(TenantModel):
    layer = models.ForeignKey(ScheduleLayer, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["layer_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="layer_participant_position_unique")
        ]


class CoverStatus(models.TextChoices):
    # Made by a member for someone else: it changes nothing until that person accepts it.
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"


class ScheduleOverride(TenantModel):
    """``user`` is on call from ``starts_at`` to ``ends_at``. With ``replaces``, only while that person
    would have been (someone covers for someone); without, for the whole range."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replaces = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=CoverStatus.choices, default=CoverStatus.ACTIVE)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_schedule_end_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="override_positive")
        ]


class ShiftSwap(TenantModel):
    """Between ``starts_at`` and ``ends_at`` the two people trade places: wherever one was on call,
    the other is. Two people swapping weeks record one swap spanning both weeks."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swaps")
    first_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    second_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=CoverStatus.choices, default=CoverStatus.ACTIVE)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="swap_schedule_end_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="swap_positive"),
            models.CheckConstraint(condition=~Q(first_user=models.F("second_user")), name="swap_two_people"),
        ]


class CalendarFeed(TenantModel):
    """A secret iCal URL: one schedule's shifts, or one person's shifts across the organization's
    schedules. Only the digest of the secret is kept; the URL is shown once and can be revoked."""

    # Every feed token starts with this: a token-shaped string of another kind is refused unread.
    TOKEN_PREFIX = "ocal_"

    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule__isnull=False, user__isnull=True)
                | Q(schedule__isnull=True, user__isnull=False),
                name="calendar_feed_one_subject",
            )
        ]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
