"""Reads of accounts that more than one caller needs: a person's organizations, and the lookups of
a secret shown once (API token, invitation link) by its digest."""

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
    """The active token of an active person with this secret, else None."""
    token = ApiToken.objects.select_related("user", "organization").filter(key_hash=digest(secret)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token
