import pytest
from django.test import override_settings

from incidents.services import incident_create
from tests.incidents.factories import ServiceFactory
from tests.notifications.peers import http_receiver, smtp_server

LOOPBACK = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def receiver():
    with http_receiver() as peer:
        yield peer


@pytest.fixture
def second_receiver():
    with http_receiver() as peer:
        yield peer


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
        ),
    ):
        yield messages


@pytest.fixture
def allow_loopback():
    """The test peers listen on loopback, which the SSRF guard refuses unless allowed."""
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=LOOPBACK):
        yield


@pytest.fixture
def fast_retries():
    with override_settings(
        NOTIFICATION_MAX_ATTEMPTS=5, NOTIFICATION_RETRY_BASE_SECONDS=10, NOTIFICATION_RETRY_MAX_SECONDS=60
    ):
        yield


# Incidents for paging tests (the incidents app's own fixtures live in its folder).
@pytest.fixture
def service(org, team):
    return ServiceFactory(organization=org, name="Payments API", slug="payments-api", owner_team=team)


@pytest.fixture
def open_incident(actor_as, service):
    def make(**kwargs):
        kwargs.setdefault("title", "Checkout errors above 5%")
        kwargs.setdefault("service", service)
        return incident_create(actor=actor_as("operator"), **kwargs)

    return make
