"""Changing a member's role and removing a member: nobody hands out or takes away more than they hold."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from opsplatform.accounts.models import ApiToken, Membership, Team
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, Role, role_rank


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
        # Their live sockets follow the new role (a demoted manager stops hearing the ledger).
        recheck_access_of=membership.user_id,
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
        recheck_access_of=user.pk,  # their live sockets of this organization close
    )
    membership.delete()
