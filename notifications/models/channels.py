import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"
    WEBHOOK = "webhook", "Outbound webhook"
    TWILIO_SMS = "twilio_sms", "SMS (Twilio)"
    TWILIO_VOICE = "twilio_voice", "Voice call (Twilio)"


TWILIO_KINDS = (ChannelKind.TWILIO_SMS, ChannelKind.TWILIO_VOICE)


class Channel(TenantModel):
    """Where an organization's notifications go besides people: a chat room, an endpoint, a pager
    gateway. Also the carrier for personal contact methods that need one (Slack mentions go through
    the organization's Slack channel, text messages through its Twilio account).

    ``config`` holds what may be shown again (recipients, Twilio account SID and sender number);
    ``secrets_encrypted`` holds what may not (webhook URLs, which are their own credential, signing
    secrets, the Twilio auth token), sealed with AES-GCM under a context bound to this row.
    """

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    config = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True)
    secret_key_id = models.UUIDField(default=uuid.uuid4, editable=False)
    # Recognizable, harmless: the host of a webhook URL, the last digits of a token.
    secret_hint = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Health, kept by the delivery worker: the delivery dashboard lists what is failing.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="channel_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def secret_context(self) -> str:
        return f"channel:{self.organization_id}:{self.secret_key_id}"

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures > 0
