"""Who performs an action: a member through a page, an API token, an integration, or a system job.

Every service function takes an ``actor``; it answers capability checks and names itself in the
ledger. Permission checks go through :meth:`Actor.can` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from opsplatform.core import capabilities as caps
from opsplatform.core.object_grants import has_object_grant


class ActorKind:
    USER = "user"
    API_TOKEN = "api_token"
    INTEGRATION = "integration"
    SYSTEM = "system"

    choices = [(USER, "User"), (API_TOKEN, "API token"), (INTEGRATION, "Integration"), (SYSTEM, "System job")]


@dataclass(frozen=True)
class Actor:
    kind: str
    organization: Any  # accounts.Organization, or None for platform-level actions
    user: Any = None
    role: str | None = None
    token: Any = None
    integration: Any = None
    job: str = ""
    # Object grants are honoured for sessions and unrestricted tokens only: a token cut down to a
    # lower role must not regain power through its creator's grants.
    object_grants: bool = True

    # --- constructors ---------------------------------------------------------------------------
    @classmethod
    def for_member(cls, user, organization, role=None) -> Actor:
        if role is None and organization is not None:
            role = membership_role(user, organization)
        return cls(kind=ActorKind.USER, organization=organization, user=user, role=role)

    @classmethod
    def for_token(cls, token, member_role: str | object | None = ...) -> Actor:
        """``member_role``: the owner's role in the token's organization when the caller read it
        together with the token (None: not a member); otherwise it is read here."""
        if member_role is ...:
            member_role = membership_role(token.user, token.organization)
        role = caps.lower_role(member_role, token.role) if token.role else member_role
        return cls(
            kind=ActorKind.API_TOKEN,
            organization=token.organization,
            user=token.user,
            role=role,
            token=token,
            object_grants=not token.role,
        )

    @classmethod
    def for_integration(cls, integration) -> Actor:
        return cls(kind=ActorKind.INTEGRATION, organization=integration.organization, integration=integration)

    @classmethod
    def system(cls, job: str, organization=None) -> Actor:
        return cls(kind=ActorKind.SYSTEM, organization=organization, job=job)

    # --- permission -----------------------------------------------------------------------------
    def can(self, capability: str, obj=None) -> bool:
        if self.kind == ActorKind.SYSTEM:
            return True
        if self.kind == ActorKind.INTEGRATION:
            return capability in (
                caps.Capability.INCIDENT_CREATE,
                caps.Capability.INCIDENT_ACKNOWLEDGE,
                caps.Capability.INCIDENT_RESOLVE,
            )
        if self.user is None or not self.user.is_active:
            return False
        if caps.role_grants(self.role, capability):
            return True
        if obj is not None and self.object_grants:
            return has_object_grant(self.user, capability, obj)
        return False

    def require(self, capability: str, obj=None) -> None:
        if not self.can(capability, obj):
            raise PermissionDenied(f"Missing capability {capability}.")

    # --- ledger identity ------------------------------------------------------------------------
    @property
    def ledger_id(self) -> str:
        if self.kind == ActorKind.API_TOKEN:
            return str(self.token.pk)
        if self.kind == ActorKind.USER:
            return str(self.user.pk)
        if self.kind == ActorKind.INTEGRATION:
            return str(self.integration.pk)
        return self.job

    @property
    def label(self) -> str:
        if self.kind == ActorKind.API_TOKEN:
            return f"{self.user.username} via token {self.token.name}"
        if self.kind == ActorKind.USER:
            return self.user.username
        if self.kind == ActorKind.INTEGRATION:
            return f"integration {self.integration}"
        return f"system: {self.job}"


def membership_role(user, organization) -> str | None:
    """The user's role in the organization, read through the organization's reverse relation so the
    kernel needs no import of the accounts models."""
    if user is None or not user.is_authenticated or organization is None:
        return None
    return organization.memberships.filter(user=user).values_list("role", flat=True).first()
