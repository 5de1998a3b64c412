import pytest

from tests.api.account_world import make_world


@pytest.fixture
def world(org, users, team, actor_as):
    """One object of every kind in ``org``, none belonging to the role under test."""
    return make_world(org, users, team, actor_as)
