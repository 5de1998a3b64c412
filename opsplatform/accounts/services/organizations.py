"""Creating an organization (with its first owner) and changing its settings."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from opsplatform.accounts.models import Membership, Organization, User
from opsplatform.accounts.services.slugs import unique_slug
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, Role
from opsplatform.core.changes import apply_changes, refuse_unknown

_SLUG_TAKEN = "An organization with this slug already exists."


def _validate_slug(slug: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ValidationError({"slug": exc.messages}) from exc
    if len(slug) > Organization._meta.get_field("slug").max_length:
        raise ValidationError({"slug": "This slug is too long."})


@transaction.atomic
def organization_create(*, name: str, owner: User, slug: str = "") -> Organization:
    """``slug`` defaults to one made from the name (see ``unique_slug``); an explicit one must be
    a valid, free slug."""
    if slug:
        _validate_slug(slug)
    org = None
    # Slugs are unique across tenants and nothing here can lock "all organizations": a concurrent
    # creation that took the chosen slug surfaces as an IntegrityError; a generated slug is then
    # chosen again, an explicit one refused.
    for _ in range(3):
        candidate = slug or unique_slug(name, queryset=Organization.objects.all(), fallback="organization")
        if slug and Organization.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": _SLUG_TAKEN})
        try:
            with transaction.atomic():
                org = Organization.objects.create(name=name, slug=candidate)
            break
        except IntegrityError:
            if slug:
                raise ValidationError({"slug": _SLUG_TAKEN}) from None
    if org is None:
        raise ValidationError({"slug": "Could not choose a free slug; try again."})
    slug = org.slug
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
    refuse_unknown(changes, {"name", "time_zone", "require_2fa_for_admins"})
    changed = apply_changes(org, changes)
    if not changed:
        return org
    org.full_clean()
    org.save(update_fields=list(changed))
    ledger.record(actor=actor, verb="organization.updated", target=org, data={"changes": changed})
    return org
