"""Monitors, their check results, rollups, and the integrations their incidents come in through."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

MIN_INTERVAL_SECONDS = 10
# How many recent outcomes a monitor remembers: the flap window (21) and the longest ratio window.
HISTORY_LENGTH = 50


class MonitorKind(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    TCP = "tcp", "TCP connect"
    DNS = "dns", "DNS"
    PING = "ping", "Ping (ICMP)"
    HEARTBEAT = "heartbeat", "Heartbeat / cron"


class MonitorState(models.TextChoices):
    PENDING = "pending", "Pending"
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    PAUSED = "paused", "Paused"


class Outcome(models.TextChoices):
    """What one check found. ``not_permitted`` (ICMP refused by the system) counts for nothing."""

    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    NOT_PERMITTED = "not_permitted", "Not permitted here"


# The design system's status badge colours for monitor states and check outcomes (ok, warn, bad).
BADGE_CLASS = {"up": "status-resolved", "degraded": "status-acknowledged", "down": "status-triggered"}

# One character per outcome in ``Monitor.history`` (oldest first).
OUTCOME_CODE = {Outcome.UP: "u", Outcome.DEGRADED: "g", Outcome.DOWN: "d"}


class Monitor(TenantModel):
    service = models.ForeignKey(
        "incidents.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="monitors"
    )
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=MonitorKind.choices)
    target = models.CharField(
        max_length=2048, help_text="URL, host:port, host name, or the heartbeat's name."
    )
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(MIN_INTERVAL_SECONDS), MaxValueValidator(86400)]
    )
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.1)])
    jitter_seconds = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(3600)])
    down_interval_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Check this often while down (faster recovery notice)."
    )
    down_after = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    failure_ratio = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="Also down when this share of the last ratio_window checks failed.",
    )
    ratio_window = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(HISTORY_LENGTH)]
    )
    up_after = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    degraded_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    assertions = models.JSONField(default=dict, blank=True)
    paused = models.BooleanField(default=False)

    state = models.CharField(max_length=16, choices=MonitorState.choices, default=MonitorState.PENDING)
    flapping = models.BooleanField(default=False)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    history = models.CharField(max_length=HISTORY_LENGTH, blank=True, default="")
    # Whether an incident is open on our account (a trigger went out and no resolve yet).
    alerting = models.BooleanField(default=False)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_message = models.CharField(max_length=500, blank=True, default="")
    next_check_at = models.DateTimeField(null=True, blank=True)

    # Where it is checked from (monitoring.locations): by the built-in scheduler ("local") or not,
    # how many remote locations, and how many locations must agree before it goes down.
    check_locally = models.BooleanField(default=True)
    remote_locations = models.PositiveSmallIntegerField(default=0)
    quorum = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])

    # Heartbeat monitors: the ping key's digest, the last pings and the last run's duration.
    ping_key_hash = models.CharField(max_length=64, blank=True, default="")
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_start_at = models.DateTimeField(null=True, blank=True)
    last_run_seconds = models.FloatField(null=True, blank=True)
    # A heartbeat integration's monitor (monitoring/legacy.py): pinged through the integration's URL.
    legacy_integration = models.OneToOneField(
        "incidents.Integration",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="heartbeat_monitor",
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="monitor_name_unique"),
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=MIN_INTERVAL_SECONDS), name="monitor_min_interval"
            ),
            models.CheckConstraint(
                condition=Q(down_after__gte=1) & Q(up_after__gte=1), name="monitor_thresholds"
            ),
        ]
        indexes = [
            # The scheduler's claim: due, unpaused monitors in due order.
            models.Index(fields=["next_check_at"], condition=Q(paused=False), name="monitor_due_idx"),
            models.Index(
                fields=["ping_key_hash"], condition=~Q(ping_key_hash=""), name="monitor_ping_key_idx"
            ),
            models.Index(fields=["organization", "state"], name="monitor_org_state_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def badge_class(self) -> str:
        return BADGE_CLASS.get(self.state, "")

    @property
    def location_names(self) -> list[str]:
        """Where it is checked from, "local" first (prefetch ``placements__location`` for lists)."""
        if not self.remote_locations:
            return ["local"]
        names = sorted(p.location.name for p in self.placements.all() if p.location_id)
        return (["local"] if self.check_locally else []) + names


class CheckResult(models.Model):
    """One check's raw result; purged after ``MONITORING_RESULT_RETENTION_DAYS`` (rollups stay)."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="results")
    checked_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    latency_ms = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True, default="")
    # Scheduling lateness: how long after its due time the check started (the benchmark's measure).
    lateness_ms = models.FloatField(null=True, blank=True)
    # Where the check ran: "local" (the built-in scheduler) or a probe location's name.
    location = models.CharField(max_length=64, default="local")

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [
            models.Index(fields=["monitor", "-checked_at"], name="checkresult_monitor_time_idx"),
            models.Index(fields=["checked_at"], name="checkresult_time_idx"),
        ]

    def __str__(self):
        return f"{self.outcome} at {self.checked_at:%Y-%m-%d %H:%M:%S}"

    @property
    def badge_class(self) -> str:
        return BADGE_CLASS.get(self.outcome, "")


class RollupPeriod(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"


class Rollup(models.Model):
    """Checks per minute or hour: counts, uptime and latency percentiles, kept long after raw results."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="rollups")
    period = models.CharField(max_length=8, choices=RollupPeriod.choices)
    start = models.DateTimeField()
    checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    latency_p50 = models.FloatField(null=True, blank=True)
    latency_p95 = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "period", "start"], name="rollup_unique_bucket")
        ]

    def __str__(self):
        return f"{self.period} from {self.start:%Y-%m-%d %H:%M}"

    @property
    def uptime_percent(self) -> float | None:
        return None if not self.checks else round(100.0 * (self.checks - self.failures) / self.checks, 3)


class IncidentSource(TenantModel):
    """The integration a service's monitors raise incidents through, one per (organization, service).

    Going through an integration keeps monitors on the ingestion pipeline: dedup, routing rules,
    maintenance windows, escalation and SLA apply exactly as for any other alert source.
    """

    service = models.ForeignKey("incidents.Service", null=True, blank=True, on_delete=models.CASCADE)
    integration = models.OneToOneField("incidents.Integration", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service"], name="incident_source_unique", nulls_distinct=False
            )
        ]


# Probe locations live in their own module; imported here so the app registry finds them.
from monitoring.locations.models import MonitorLocation, ProbeLocation  # noqa: E402, F401
