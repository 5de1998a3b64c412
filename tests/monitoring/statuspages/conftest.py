import hashlib
import hmac

import pytest
import redis
from django.utils import timezone

from monitoring.models import Monitor
from monitoring.statuspages import services
from monitoring.statuspages.models import StatusSubscriber
from tests.notifications.conftest import receiver, smtp  # noqa: F401 - the real HTTP and SMTP peers


def clear_own_cache(settings) -> None:
    """Drop this test process's cache keys only. ``cache.clear()`` is FLUSHDB: it would also wipe the
    throttle counters of a test running meanwhile in another xdist worker on the same Redis database."""
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    # Throttle counters and page snapshots live in the shared cache; each test starts without them.
    clear_own_cache(settings)
    settings.SITE_URL = "http://status.test"
    yield
    clear_own_cache(settings)


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


@pytest.fixture
def reader(page):
    """A confirmed e-mail subscriber of ``page``."""
    return StatusSubscriber.objects.create(
        organization=page.organization, page=page, email="reader@example.com", confirmed_at=timezone.now()
    )


@pytest.fixture
def hook(page, receiver, actor_as):  # noqa: F811 - the imported fixture, requested by name
    """A webhook subscriber of ``page`` posting to the loopback ``receiver``: (subscriber, secret)."""
    issued = services.webhook_add(
        actor=actor_as("manager"), page=page, url=receiver.url("/status-hook"), description="Chat bot"
    )
    return issued.subscriber, issued.signing_secret


def signature_valid(secret: str, request) -> bool:
    """What a receiver checks (docs/webhooks.md): HMAC-SHA256 over "<timestamp>." + the raw body."""
    timestamp = request.headers["x-opsplatform-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-opsplatform-signature"], f"v1={expected}")
