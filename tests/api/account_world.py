"""The account objects the API tests act on: one of every kind, none belonging to the caller."""

from types import SimpleNamespace

from opsplatform.accounts import services as account_services
from opsplatform.accounts.models import ApiToken
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory


def make_world(org, users, team, actor_as) -> SimpleNamespace:
    """One object of every kind in ``org``, none belonging to the role under test."""
    extra = MembershipFactory(organization=org, role=Role.VIEWER, user__username="extra")
    invitation = account_services.invitation_create(
        actor=actor_as("owner"), email="pending@example.test", role=Role.VIEWER
    ).invitation
    extra_token = account_services.api_token_create(
        actor=Actor.for_member(extra.user, org), name="extra's token"
    ).token
    return SimpleNamespace(
        org=org, users=users, team=team, extra=extra, invitation=invitation, extra_token=extra_token
    )


def own_token(world, role) -> ApiToken:
    actor = Actor.for_member(world.users[role], world.org)
    return account_services.api_token_create(actor=actor, name="my other token").token
