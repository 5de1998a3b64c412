from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class EscalationPolicy(TenantModel):
    """Who is paged, in which order, and how long each level gets before the next one.

    The whole list of steps runs ``1 + repeat_count`` times while nobody acknowledges.
    """

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="escalation_policies"
    )
    repeat_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="escalation_policy_name_unique")
        ]

    def __str__(self):
        return self.name

    # Where the policy is used, read through the link tables (prefetch "service_links__service" and
    # "team_links__team" when listing).
    @property
    def services(self):
        return sorted((link.service for link in self.service_links.all()), key=lambda s: s.pk)

    @property
    def default_for_teams(self):
        return sorted((link.team for link in self.team_links.all()), key=lambda t: t.pk)


class EscalationStep(TenantModel):
    """One level. Its targets are notified when it runs; the next level runs ``delay_minutes`` later.

    With ``round_robin`` the step notifies one of its targets per run, rotating: ``rr_next`` is the
    rotation's position, advanced in the same transaction that runs the step.
    """

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(default=15)
    round_robin = models.BooleanField(default=False)
    rr_next = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["policy_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position_unique")
        ]

    def __str__(self):
        return f"{self.policy}: step {self.position + 1}"


class TargetKind(models.TextChoices):
    USER = "user", "Person"
    SCHEDULE = "schedule", "On call in a schedule"
    TEAM = "team", "Every member of a team"
    CHANNEL = "channel", "Channel"


TARGET_FIELDS = ("user", "schedule", "team", "channel")


def _exactly_one_target() -> Q:
    """The field named by ``kind`` is set and every other target field is empty."""
    condition = Q()
    for kind in TARGET_FIELDS:
        empty = {f"{other}__isnull": True for other in TARGET_FIELDS if other != kind}
        condition |= Q(kind=kind, **{f"{kind}__isnull": False}, **empty)
    return condition


class StepTarget(TenantModel):
    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=TargetKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(
        "notifications.Schedule", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "notifications.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["step_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one_target(), name="step_target_matches_kind")
        ]

    @property
    def target(self):
        return getattr(self, self.kind)

    @property
    def target_id(self) -> int:
        return getattr(self, f"{self.kind}_id")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.target}"


class ServiceEscalation(TenantModel):
    """The escalation-policy slot of a service. It lives here, not on ``incidents.Service``: incidents
    sit below notifications in the layer order and know nothing of policies."""

    service = models.OneToOneField("incidents.Service", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="service_links")

    def __str__(self):
        return f"{self.service_id} → {self.policy}"


class TeamEscalation(TenantModel):
    """A team's default policy: incidents of the team whose service has no policy of its own use it."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="team_links")

    def __str__(self):
        return f"{self.team_id} → {self.policy}"
