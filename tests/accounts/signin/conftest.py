import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.notifications.peers import smtp_server


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
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            SITE_URL="http://testserver",
        ),
    ):
        yield messages
