"""Invitations: created with a token shown once, accepted by an existing or a new account, revoked."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from opsplatform.accounts.digests import digest
from opsplatform.accounts.models import Invitation, Membership, User
from opsplatform.core import ledger
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.core.capabilities import Capability, Role, role_rank


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once, in the invitation link

    @property
    def path(self) -> str:
        return f"/invitations/{self.token}/"


@transaction.atomic
def invitation_create(*, actor: Actor, email: str, role: str) -> IssuedInvitation:
    actor.require(Capability.MEMBER_INVITE)
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role_rank(role) > role_rank(actor.role):
        raise PermissionDenied("You cannot invite someone above your own role.")
    email = email.strip().lower()
    org = actor.organization
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise ValidationError({"email": "This person is already a member."})
    # A fresh invitation replaces a pending one for the same address.
    Invitation.objects.filter(
        organization=org, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=org,
        email=email,
        role=role,
        token_hash=digest(token),
        invited_by=actor.user,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    ledger.record(
        actor=actor, verb="invitation.created", target=invitation, data={"email": email, "role": role}
    )
    return IssuedInvitation(invitation=invitation, token=token)


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token_hash=digest(token)).first()
    if invitation is None or invitation.status != "pending":
        raise ValidationError({"token": "This invitation is invalid, expired or already used."})
    if invitation.email.lower() != (user.email or "").lower():
        raise ValidationError({"token": "This invitation was sent to another e-mail address."})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                organization=invitation.organization, user=user, role=invitation.role
            )
    except IntegrityError as exc:
        raise ValidationError({"token": "You are already a member of this organization."}) from exc
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    actor = Actor.for_member(user, invitation.organization, role=invitation.role)
    ledger.record(
        actor=actor,
        verb="invitation.accepted",
        target=invitation,
        data={"email": invitation.email, "role": invitation.role},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    actor.require(Capability.MEMBER_INVITE)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    ledger.record(actor=actor, verb="invitation.revoked", target=invitation, data={"email": invitation.email})
    return invitation


@transaction.atomic
def invitation_sign_up(*, token: str, username: str, password: str, display_name: str = "") -> Membership:
    """Create the account an invitation was sent to and accept the invitation, all or nothing."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=digest(token)).first()
    if invitation is None or invitation.status != "pending":
        raise ValidationError({"token": "This invitation is invalid, expired or already used."})
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError({"username": "An account with this e-mail address exists: log in to accept."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This username is taken."})
    user = User(username=username, email=invitation.email, display_name=display_name)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    actor = Actor(kind=ActorKind.USER, organization=None, user=user)
    ledger.record(
        actor=actor, verb="user.registered", target=user, data={"via": "invitation"}, organization=None
    )
    return invitation_accept(token=token, user=user)
