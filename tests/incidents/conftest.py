import pytest

from incidents.services import incident_create
from opsplatform.core.actors import Actor
from tests.incidents.factories import ServiceFactory


@pytest.fixture
def service(org, team):
    return ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)


@pytest.fixture
def other_service(other_org, other_team):
    return ServiceFactory(organization=other_org, name="Globex API", slug="globex-api", owner_team=other_team)


@pytest.fixture
def open_incident(actor_as, service):
    def make(**kwargs):
        kwargs.setdefault("title", "Checkout errors above 5%")
        return incident_create(actor=actor_as("operator"), service=service, **kwargs)

    return make


@pytest.fixture
def incident(open_incident):
    return open_incident()


@pytest.fixture
def foreign_incident(other_org, outsider, other_service):
    return incident_create(
        actor=Actor.for_member(outsider, other_org), service=other_service, title="Globex database down"
    )
