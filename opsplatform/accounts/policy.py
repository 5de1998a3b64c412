"""Which ways in a person may use: "SSO required" organizations refuse local sign-in to their members,
except owners, whose password (or e-mail link) is the break-glass way in when the provider is down."""

from opsplatform.accounts.models import Membership
from opsplatform.core.capabilities import Role


def sso_required_organizations(user) -> list:
    """The organizations that refuse ``user`` a local sign-in (password or e-mail link)."""
    memberships = Membership.objects.filter(user=user, organization__sso_required=True).select_related(
        "organization"
    )
    return [m.organization for m in memberships if m.role != Role.OWNER]


def local_sign_in_allowed(user) -> bool:
    return not sso_required_organizations(user)
