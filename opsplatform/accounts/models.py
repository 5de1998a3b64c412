from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.capabilities import Role
from opsplatform.core.tenancy import TenantModel


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username


class Organization(models.Model):
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    require_2fa_for_admins = models.BooleanField(
        default=False, help_text="Owners and admins must use two-factor authentication to sign in."
    )
    sso_required = models.BooleanField(
        default=False,
        help_text="Members sign in through the organization's identity provider; only owners may "
        "still use a password or an e-mail link (their break-glass way in).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "organization"])]
        ordering = ["organization", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class Team(TenantModel):
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA zone for schedules and SLA hours."
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="team_slug_unique")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class Invitation(TenantModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Only a digest is stored: the link itself is shown once, to whoever sends the invitation.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} → {self.organization}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApiToken(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The visible prefix lets people tell tokens apart; the secret is kept only as a SHA-256 digest
    # (a 256-bit random secret needs no slow hash, and lookups must be fast on every request).
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        blank=True,
        help_text="Optional ceiling; the token never exceeds its creator's current role.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at:
            return False
        return not (self.expires_at and self.expires_at <= timezone.now())


class SignInLink(models.Model):
    """A one-time e-mail sign-in link. Only digests are kept: of the link's secret and of the nonce
    in the cookie of the browser that asked for it, so the link works in that browser alone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64)
    # The secret, encrypted, only until the mail task has taken it; never kept after that.
    sealed_token = models.TextField(blank=True)
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    mailed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self):
        return f"sign-in link for {self.user} (expires {self.expires_at:%H:%M})"


class IdentityProvider(TenantModel):
    """An OpenID Connect provider members of the organization sign in through."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=80)
    issuer = models.URLField(
        max_length=500, help_text="Its discovery document is <issuer>/.well-known/openid-configuration."
    )
    client_id = models.CharField(max_length=255)
    client_secret_sealed = models.TextField(blank=True)
    scopes = models.CharField(max_length=255, default="openid email profile")
    allowed_domains = models.JSONField(
        default=list, blank=True, help_text="E-mail domains allowed to sign in; empty allows any."
    )
    role_claim = models.CharField(
        max_length=100, blank=True, help_text='A claim holding groups, e.g. "groups".'
    )
    role_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Claim value → role, e.g. {"ops-admins": "admin"}; the highest match wins.',
    )
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    jit_provisioning = models.BooleanField(
        default=True, help_text="Create an account and a membership for people signing in the first time."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="identity_provider_slug_unique")
        ]
        ordering = ["name"]

    def __str__(self):
        return self.name


class ExternalIdentity(models.Model):
    """A person's account at a provider (its ``sub``), linked to one local user."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="identities")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    subject = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_unique")
        ]

    def __str__(self):
        return f"{self.subject} at {self.provider}"
