from django.conf import settings
from django.db import models
from django.utils import timezone

from notifications.masking import mask_address


class ContactKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    SLACK = "slack", "Slack user"
    WEBHOOK = "webhook", "Webhook"
    WEB_PUSH = "web_push", "Browser push"


# Kinds whose address must be proven before anything is sent to it: a typo in a phone number
# would page a stranger at 3 a.m.
VERIFIED_KINDS = frozenset({ContactKind.EMAIL, ContactKind.SMS, ContactKind.VOICE})


class ContactMethod(models.Model):
    """One way to reach a person. Person-owned, not organization-owned: the same phone number pages
    its owner for every organization they belong to, and only its owner sees or changes it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=16, choices=ContactKind.choices)
    # e-mail address, E.164 phone number, Slack member id (U…), webhook URL, or push service endpoint
    address = models.CharField(max_length=500)
    label = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The pending code is derived from this nonce (see selectors.verification_code), so no code is stored.
    verification_nonce = models.CharField(max_length=32, blank=True)
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveSmallIntegerField(default=0)
    # Webhook contacts: the HMAC signing secret; browser push: the subscription's keys (JSON);
    # sealed with opsplatform.core.crypto.
    secret_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_method_unique"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.masked_address}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def masked_address(self) -> str:
        return mask_address(self.kind, self.address)

    @property
    def secret_context(self) -> str:
        """What the signing secret is sealed under: a ciphertext copied to another row does not open."""
        return f"contact:{self.user_id}:{self.pk}"


class NotificationRule(models.Model):
    """ "After N minutes still unacknowledged, use this contact method" (0 minutes: immediately)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "delay_minutes", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_method", "delay_minutes"], name="notification_rule_unique"
            ),
        ]

    def __str__(self):
        when = "immediately" if not self.delay_minutes else f"after {self.delay_minutes} min"
        return f"{when}: {self.contact_method}"
