"""Reads of accounts that more than one caller needs: a person's organizations, and the lookups of
a secret shown once (API token, invitation link) by its digest."""

from django.db.models import OuterRef, Subquery

from opsplatform.accounts.digests import digest
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization


def organizations_of(user):
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user).order_by("name")


def memberships_of(user):
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token_hash=digest(token)).first()


def api_token_lookup(secret: str) -> ApiToken | None:
    """The active token of an active person with this secret, else None.

    One statement for every bearer request: the token, its owner, its organization and, as
    ``member_role``, the owner's current role there (None once they are no longer a member), which
    ``Actor.for_token`` would otherwise read with a second query.
    """
    member_role = Membership.objects.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("user_id")
    ).values("role")[:1]
    token = next(
        iter(
            ApiToken.objects.select_related("user", "organization")
            .annotate(member_role=Subquery(member_role))
            .filter(key_hash=digest(secret))
            .order_by()[:1]  # key_hash is unique: no sort
        ),
        None,
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token
