import pytest

from opsplatform.accounts import services
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role


@pytest.fixture
def viewer_token(org, users):
    return services.api_token_create(actor=Actor.for_member(users["viewer"], org), name="viewer ci").token


@pytest.fixture
def pending_invitation(org, users):
    return services.invitation_create(
        actor=Actor.for_member(users["owner"], org), email="new@example.test", role=Role.OPERATOR
    ).invitation
