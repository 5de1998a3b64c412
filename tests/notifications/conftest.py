from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from incidents.services import incident_create
from tests.incidents.factories import ServiceFactory
from tests.notifications.factories import make_channel, make_policy, make_schedule, step
from tests.notifications.peers import http_receiver, mail_through, smtp_server

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
        mail_through(port),
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


# Incidents for on-call and notification tests (the incidents app's own fixtures live in its folder).
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


@pytest.fixture
def webhook(org, service, receiver):
    """A webhook channel to ``receiver`` that the service's policy pages at its first step."""
    channel = make_channel(org, kind="webhook", name="Ops", url=receiver.url("/hook")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    return channel


@pytest.fixture
def schedule(org, team, users):
    """The team's schedule: operator and manager take turns daily, weekdays 09:00-17:00 only (every day
    has a gap). Test modules with a schedule of their own override it."""
    today = timezone.now().astimezone(ZoneInfo(team.time_zone)).date()
    return make_schedule(
        org,
        team,
        layers=[
            {
                "rotation": "daily",
                "start_date": today - timedelta(days=3),
                "handoff_time": time(9),
                "participants": [users["operator"], users["manager"]],
                "restrictions": [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
            }
        ],
    )
