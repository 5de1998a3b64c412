import pytest
from django.core.cache import cache

from monitoring.models import Monitor
from monitoring.statuspages import services
from tests.notifications.conftest import smtp  # noqa: F401 - the real SMTP server fixture


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    # Throttle counters and page snapshots live in the shared cache; each test starts without them.
    cache.clear()
    settings.SITE_URL = "http://status.test"
    yield
    cache.clear()


@pytest.fixture
def page(actor_as):
    return services.page_create(actor=actor_as("manager"), title="Acme status", published=True)


@pytest.fixture
def monitors(make_monitor, service):
    api = make_monitor(name="API", target="https://api.example.com/health", service=service)
    web = make_monitor(name="Website", target="https://www.example.com/")
    return api, web


def set_state(monitor, state, flapping=False):
    Monitor.objects.filter(pk=monitor.pk).update(state=state, flapping=flapping)


@pytest.fixture
def components(page, monitors, service, actor_as):
    api, web = monitors
    manager = actor_as("manager")
    return (
        services.component_create(actor=manager, page=page, name="API", group="Platform", monitors=[api]),
        services.component_create(actor=manager, page=page, name="Website", monitors=[web]),
        services.component_create(
            actor=manager, page=page, name="Checkout", group="Platform", services=[service]
        ),
    )
