import pytest


@pytest.fixture
def owner(actor_as):
    return actor_as("owner")
