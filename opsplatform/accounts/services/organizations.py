"""Creating an organization (with its first owner) and changing its settings."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from opsplatform.accounts.models import Membership, Organization, User
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, Role


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
