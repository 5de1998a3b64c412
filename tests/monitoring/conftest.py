import pytest

from monitoring.services import monitor_create
from tests.incidents.factories import ServiceFactory


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    # The peers of these tests live on loopback, which the SSRF guard refuses unless a deployment allows it.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def service(org):
    return ServiceFactory(organization=org, name="Checkout", slug="checkout")


@pytest.fixture
def make_monitor(actor_as):
    def make(**values):
        values.setdefault("name", f"monitor {len(values)}-{values.get('target', '')}"[:150])
        values.setdefault("kind", "http")
        values.setdefault("interval_seconds", 30)
        return monitor_create(actor=actor_as("manager"), **values)

    return make
