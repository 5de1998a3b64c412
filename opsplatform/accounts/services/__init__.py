"""Every write to organizations, memberships, teams, invitations, API tokens and a person's account.

Each function checks the actor's capability, changes rows inside one transaction and writes its
ledger entry in that same transaction. One module per aggregate; callers use this package
(``from opsplatform.accounts import services; services.team_create(...)``), which is why it names
every public function here.
"""

from opsplatform.accounts.digests import TOKEN_PREFIX, digest
from opsplatform.accounts.services.invitations import (
    IssuedInvitation,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    invitation_sign_up,
)
from opsplatform.accounts.services.members import membership_change_role, membership_remove
from opsplatform.accounts.services.organizations import organization_create, organization_update
from opsplatform.accounts.services.people import user_change_password, user_set_active, user_update_profile
from opsplatform.accounts.services.teams import team_create, team_delete, team_set_members, team_update
from opsplatform.accounts.services.tokens import (
    IssuedToken,
    api_token_create,
    api_token_revoke,
    api_token_touch,
)

__all__ = [
    "TOKEN_PREFIX",
    "IssuedInvitation",
    "IssuedToken",
    "api_token_create",
    "api_token_revoke",
    "api_token_touch",
    "digest",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "invitation_sign_up",
    "membership_change_role",
    "membership_remove",
    "organization_create",
    "organization_update",
    "team_create",
    "team_delete",
    "team_set_members",
    "team_update",
    "user_change_password",
    "user_set_active",
    "user_update_profile",
]
