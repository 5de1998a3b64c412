import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.notifications.peers import mail_through, smtp_server


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # The counters live in Redis under the run's prefix: each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def smtp():
    with (
        smtp_server() as (port, messages),
        mail_through(port),
        override_settings(SITE_URL="http://testserver"),
    ):
        yield messages
