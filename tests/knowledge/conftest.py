import pytest

from knowledge.services.articles import article_create
from knowledge.services.spaces import space_create
from tests.incidents.factories import ServiceFactory


@pytest.fixture
def payments_space(actor_as, team):
    """A team space of Payments (members: operator, manager)."""
    return space_create(actor=actor_as("manager"), name="Payments runbooks", team=team)


@pytest.fixture
def checkout(org):
    return ServiceFactory(organization=org, name="Checkout API", slug="checkout-api")


@pytest.fixture
def write(actor_as):
    def make(title, body="", role="operator", **kwargs):
        return article_create(actor=actor_as(role), title=title, body=body, **kwargs)

    return make
