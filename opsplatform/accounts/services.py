"""Every write to organizations, memberships, teams, invitations and API tokens.

Each function checks the actor's capability, changes rows inside one transaction and writes its
ledger entry in that same transaction.
"""

import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from opsplatform.core import ledger
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.core.capabilities import Capability, Role, role_rank

TOKEN_PREFIX = "opk_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- organizations ------------------------------------------------------------------------------


@transaction.atomic
def organization_create(*, name: str, owner: User, slug: str = "") -> Organization:
    slug = slug or slugify(name)[:80]
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "An organization with this slug already exists."})
    org = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    actor = Actor.for_member(owner, org, role=Role.OWNER)
    ledger.record(actor=actor, verb="organization.created", target=org, data={"name": name, "slug": slug})
    return org


@transaction.atomic
def organization_update(*, actor: Actor, organization: Organization, **changes) -> Organization:
    if actor.organization is None or actor.organization.pk != organization.pk:
        raise PermissionDenied("You can only change your own organization.")
    actor.require(Capability.ORGANIZATION_MANAGE)
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    allowed = {"name", "time_zone", "require_2fa_for_admins"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    changed = {k: v for k, v in changes.items() if getattr(org, k) != v}
    if not changed:
        return org
    for key, value in changed.items():
        setattr(org, key, value)
    org.full_clean()
    org.save(update_fields=list(changed))
    ledger.record(actor=actor, verb="organization.updated", target=org, data={"changes": changed})
    return org


# --- memberships --------------------------------------------------------------------------------


def _owner_count(organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


def _require_may_touch(actor: Actor, *, current_role: str, new_role: str | None = None) -> None:
    actor.require(Capability.MEMBER_MANAGE)
    touches_owner = Role.OWNER in (current_role, new_role)
    if touches_owner:
        actor.require(Capability.MEMBER_MANAGE_OWNERS)
    # Nobody hands out or takes away more power than they hold.
    if role_rank(new_role) > role_rank(actor.role) or role_rank(current_role) > role_rank(actor.role):
        raise PermissionDenied("You cannot manage a member above your own role.")


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    # Lock every membership row of the organization so two concurrent demotions cannot both
    # pass the last-owner check.
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership = Membership.objects.get(pk=membership.pk)
    if membership.role == role:
        return membership
    _require_may_touch(actor, current_role=membership.role, new_role=role)
    if membership.role == Role.OWNER and _owner_count(membership.organization) == 1:
        raise ValidationError({"role": "The last owner cannot be demoted; make someone else owner first."})
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    ledger.record(
        actor=actor,
        verb="member.role_changed",
        target=membership,
        data={"user": membership.user.username, "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    list(Membership.objects.select_for_update().filter(organization_id=membership.organization_id))
    membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    is_self = actor.user is not None and actor.user.pk == membership.user_id
    if not is_self:
        _require_may_touch(actor, current_role=membership.role)
    if membership.role == Role.OWNER and _owner_count(membership.organization) == 1:
        raise ValidationError({"membership": "The last owner cannot be removed."})
    org = membership.organization
    user = membership.user
    # Their API tokens in this organization stop working with the membership.
    ApiToken.objects.filter(organization=org, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    for team in Team.objects.filter(organization=org, members=user):
        team.members.remove(user)
    ledger.record(
        actor=actor,
        verb="member.removed",
        target=membership,
        data={"user": user.username, "role": membership.role},
    )
    membership.delete()


# --- invitations --------------------------------------------------------------------------------


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


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token_hash=digest(token)).first()


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


# --- API tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the full bearer value; shown once


@transaction.atomic
def api_token_create(
    *, actor: Actor, name: str, role: str = "", expires_at=None, secret: str | None = None
) -> IssuedToken:
    """``secret`` is only passed by the demo seeder, whose documented demo token must be stable."""
    actor.require(Capability.TOKEN_CREATE)
    if actor.user is None:
        raise PermissionDenied("Only a person can own an API token.")
    if role and role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if not role and actor.token is not None and actor.token.role:
        # A token minted by a capped token inherits the cap; it never gains what its parent lacks.
        role = actor.role
    if role and role_rank(role) > role_rank(actor.role):
        raise ValidationError({"role": "A token cannot hold a role above its creator's."})
    if not name.strip():
        raise ValidationError({"name": "A token needs a name."})
    secret = secret or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=actor.organization,
        user=actor.user,
        name=name.strip(),
        prefix=secret[: len(TOKEN_PREFIX) + 8],
        key_hash=digest(secret),
        role=role,
        expires_at=expires_at,
    )
    ledger.record(
        actor=actor, verb="api_token.created", target=token, data={"name": token.name, "role": role}
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    own = actor.user is not None and token.user_id == actor.user.pk
    if not own:
        actor.require(Capability.TOKEN_MANAGE)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    ledger.record(actor=actor, verb="api_token.revoked", target=token, data={"name": token.name})
    return token


def api_token_lookup(secret: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user", "organization").filter(key_hash=digest(secret)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token


def api_token_touch(token: ApiToken) -> None:
    # Written at most once a minute per token: a hot token must not turn every read into a write.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


# --- teams --------------------------------------------------------------------------------------

_TEAM_FIELDS = {"name", "description", "time_zone"}


def _validate_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError({"time_zone": f"Unknown time zone {name!r}."}) from exc


@transaction.atomic
def team_create(
    *, actor: Actor, name: str, description: str = "", time_zone: str = "UTC", slug: str = ""
) -> Team:
    actor.require(Capability.TEAM_MANAGE)
    slug = slug or slugify(name)[:80]
    if not slug:
        raise ValidationError({"name": "A team needs a name."})
    if Team.objects.filter(organization=actor.organization, slug=slug).exists():
        raise ValidationError({"name": "A team with this name already exists."})
    _validate_time_zone(time_zone)
    team = Team(
        organization=actor.organization, name=name, slug=slug, description=description, time_zone=time_zone
    )
    team.full_clean()
    team.save()
    ledger.record(actor=actor, verb="team.created", target=team, data={"name": name})
    return team


@transaction.atomic
def team_update(*, actor: Actor, team: Team, **changes) -> Team:
    actor.require(Capability.TEAM_MANAGE, team)
    team = Team.objects.select_for_update().get(pk=team.pk)
    unknown = set(changes) - _TEAM_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "time_zone" in changes:
        _validate_time_zone(changes["time_zone"])
    changed = {k: v for k, v in changes.items() if getattr(team, k) != v}
    if not changed:
        return team
    for key, value in changed.items():
        setattr(team, key, value)
    team.full_clean()
    team.save(update_fields=list(changed))
    ledger.record(actor=actor, verb="team.updated", target=team, data={"changes": changed})
    return team


@transaction.atomic
def team_delete(*, actor: Actor, team: Team) -> None:
    actor.require(Capability.TEAM_MANAGE, team)
    ledger.record(actor=actor, verb="team.deleted", target=team, data={"name": team.name})
    team.delete()


@transaction.atomic
def team_set_members(*, actor: Actor, team: Team, users) -> Team:
    actor.require(Capability.TEAM_MANAGE, team)
    users = list(users)
    member_ids = set(
        Membership.objects.filter(organization=team.organization, user__in=users).values_list(
            "user_id", flat=True
        )
    )
    outsiders = [u.username for u in users if u.pk not in member_ids]
    if outsiders:
        raise ValidationError({"members": f"Not members of this organization: {', '.join(outsiders)}."})
    before = set(team.members.values_list("username", flat=True))
    team.members.set(users)
    after = {u.username for u in users}
    if before != after:
        ledger.record(
            actor=actor,
            verb="team.members_changed",
            target=team,
            data={"added": sorted(after - before), "removed": sorted(before - after)},
        )
    return team


# --- people -------------------------------------------------------------------------------------
# A person's own account belongs to no organization: these entries go on the platform chain.


def _require_self(actor: Actor, user: User) -> Actor:
    """The actor as the account holder on the platform chain (the ledger falls back to the actor's
    organization when none is given, and these entries belong to no organization)."""
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied("Only the account holder can change this account.")
    return Actor(kind=ActorKind.USER, organization=None, user=actor.user)


@transaction.atomic
def user_update_profile(*, actor: Actor, user: User, **changes) -> User:
    actor = _require_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    unknown = set(changes) - {"display_name", "email", "time_zone"}
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "email" in changes:
        changes["email"] = changes["email"].strip().lower()
        if User.objects.filter(email__iexact=changes["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": "Another account already uses this e-mail address."})
    changed = {k: v for k, v in changes.items() if getattr(user, k) != v}
    if not changed:
        return user
    for key, value in changed.items():
        setattr(user, key, value)
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changed))
    ledger.record(
        actor=actor,
        verb="user.profile_updated",
        target=user,
        data={"fields": sorted(changed)},
        organization=None,
    )
    return user


@transaction.atomic
def user_change_password(*, actor: Actor, user: User, password: str) -> User:
    actor = _require_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    ledger.record(actor=actor, verb="user.password_changed", target=user, data={}, organization=None)
    return user


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
