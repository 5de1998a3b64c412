from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"


class IntegrationKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana alerting"
    PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
    WEBHOOK = "webhook", "Generic JSON webhook"
    HEARTBEAT = "heartbeat", "Heartbeat"


class Integration(TenantModel):
    """A source of alerts: one secret key, one payload format, routing into the organization's services.

    The key is shown once and stored as a SHA-256 digest (a 192-bit random secret needs no slow hash,
    and every ingestion request looks it up). After a rotation the previous digest keeps working
    until ``previous_key_expires_at`` so senders can be reconfigured without losing alerts.

    The counters are written by a beat tick from Redis (``incidents.ingest.counters``), never by the
    ingestion requests themselves: one shared row updated by every request would serialize all
    ingestion of an integration on its row lock.
    """

    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=IntegrationKind.choices)
    service = models.ForeignKey(
        "incidents.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="integrations",
        help_text="Where alerts go unless a routing rule sends them elsewhere.",
    )
    enabled = models.BooleanField(default=True)

    key_prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    previous_key_hash = models.CharField(max_length=64, blank=True)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)

    # Grafana's webhook HMAC: the shared secret (encrypted at rest) and the header names it uses.
    hmac_secret = models.TextField(blank=True)
    hmac_header = models.CharField(max_length=100, default=GRAFANA_SIGNATURE_HEADER)
    hmac_timestamp_header = models.CharField(
        max_length=100,
        blank=True,
        default="X-Grafana-Alerting-Timestamp",
        help_text="When the request carries this header, the signature covers timestamp:body.",
    )

    grouping = models.BooleanField(
        default=True, help_text="Alerts with the same group key join one incident."
    )
    group_window_seconds = models.PositiveIntegerField(
        default=3600,
        help_text="New alerts join a group's incident only this long after it opened (0: while it is open).",
    )
    auto_resolve = models.BooleanField(
        default=True, help_text="Resolve the incident when every one of its alerts has resolved."
    )
    throttle_rate = models.CharField(
        max_length=32, blank=True, help_text='Requests allowed, e.g. "600/min"; empty: the platform default.'
    )
    webhook_mapping = models.JSONField(default=dict, blank=True)

    heartbeat_period_seconds = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_grace_seconds = models.PositiveIntegerField(default=60)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # The heartbeat timer: when the next ping is overdue. Cleared once the miss is reported.
    next_check_at = models.DateTimeField(null=True, blank=True)

    received_count = models.BigIntegerField(default=0)
    deduplicated_count = models.BigIntegerField(default=0)
    dropped_count = models.BigIntegerField(default=0)
    last_received_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="integration_name_unique"),
            models.CheckConstraint(
                condition=~Q(kind="heartbeat") | Q(heartbeat_period_seconds__gt=0),
                name="integration_heartbeat_period",
            ),
        ]
        indexes = [
            models.Index(
                fields=["previous_key_hash"],
                condition=~Q(previous_key_hash=""),
                name="integration_prev_key_idx",
            ),
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="integration_heartbeat_due_idx",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def has_hmac_secret(self) -> bool:
        return bool(self.hmac_secret)

    @property
    def previous_key_active(self) -> bool:
        return bool(
            self.previous_key_hash
            and self.previous_key_expires_at
            and self.previous_key_expires_at > timezone.now()
        )
