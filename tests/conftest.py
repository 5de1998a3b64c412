"""Personas shared by the whole suite.

``org`` has one member of every role; ``other_org`` belongs to ``outsider`` alone. Tests speak in
these personas: ``users["operator"]``, ``client_as("viewer")``, ``api_as("admin")``.
"""

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from opsplatform.accounts import services as account_services
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, OrganizationFactory, TeamFactory, UserFactory

ROLES = [r.value for r in Role]


@pytest.fixture(autouse=True)
def _channel_layer_per_test():
    """Each test gets a channel layer of its own. The layer is one object per process, and the
    browser tests' server runs in a thread of this process: a websocket consumer it still serves
    after its test ended waits in ``receive`` on that thread's event loop, and a later test's own
    ``receive`` on the same object then fails with "Two event loops are trying to receive() on one
    channel layer at once" (seen once in a full run, in
    ``test_a_new_incident_is_pushed_to_the_organization_group``; made to happen with a consumer
    left receiving in a thread)."""
    yield
    channel_layers.backends.clear()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def users(org):
    return {role: MembershipFactory(organization=org, role=role, user__username=role).user for role in ROLES}


@pytest.fixture
def outsider(other_org):
    return MembershipFactory(organization=other_org, role=Role.OWNER, user__username="outsider").user


@pytest.fixture
def team(org, users):
    team = TeamFactory(organization=org, name="Payments", slug="payments")
    team.members.add(users["operator"], users["manager"])
    return team


@pytest.fixture
def other_team(other_org, outsider):
    return TeamFactory(organization=other_org, name="Globex core", slug="globex-core")


@pytest.fixture
def actor_as(org, users):
    def make(role: str) -> Actor:
        return Actor.for_member(users[role], org)

    return make


@pytest.fixture
def client_as(client, users, outsider):
    """A logged-in Django test client for a role of ``org`` or for ``"outsider"``."""

    def make(role: str):
        user = outsider if role == "outsider" else users[role]
        client.force_login(user)
        return client

    return make


@pytest.fixture
def token_for(org, other_org, users, outsider):
    def make(role: str, **kwargs) -> str:
        if role == "outsider":
            actor = Actor.for_member(outsider, other_org)
        else:
            actor = Actor.for_member(users[role], org)
        return account_services.api_token_create(actor=actor, name=f"{role} token", **kwargs).secret

    return make


@pytest.fixture
def api_as(token_for):
    """An API client authenticated with a fresh bearer token of the role (or ``"outsider"``)."""

    def make(role: str, **kwargs) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(role, **kwargs)}")
        return api

    return make


@pytest.fixture
def user_factory(db):
    return UserFactory


# --- websockets: the real ASGI stack with a real session cookie -----------------------------


@pytest.fixture
def application():
    # Imported when used: building the ASGI stack loads every middleware and app.
    from opsplatform.asgi import application

    return application


@database_sync_to_async
def _log_in(user, session_values) -> str:
    browser = Client()
    browser.force_login(user)
    if session_values:
        session = browser.session
        session.update(session_values)
        session.save()
    return browser.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def session_of():
    """The session cookie of a freshly logged-in browser, with extra session values if given."""

    async def make(user, **session_values) -> str:
        return await _log_in(user, session_values)

    return make
