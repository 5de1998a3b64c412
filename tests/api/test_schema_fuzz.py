"""Every operation of the OpenAPI schema, fed generated input, answers as the schema says.

The schema is generated from the app itself and every call goes in-process through the WSGI app
(same database transaction as the test), authenticated as the owner of an organization holding one
object of each kind. Path ids are those objects' ids, so detail routes, actions and deletes act on
real rows rather than only answering 404. Asserted for each answer: no 5xx, a status code the
operation documents, its documented content type, and a body matching the documented schema.
"""

import re
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents.ingest.services import integration_create, maintenance_window_create, routing_rule_create
from incidents.services.catalog import service_create
from incidents.services.create import incident_create
from monitoring.statuspages.services import component_create, page_create, webhook_add
from notifications.services.channels import channel_create
from notifications.services.overrides import OVERRIDE, SWAP, cover_create
from notifications.services.policies import policy_create
from notifications.services.schedules import schedule_create
from opsplatform.accounts import services as account_services
from tests.api.fuzz_exclusions import known_exclusion

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def keep_the_test_connection():
    """The WSGI handler closes the database connection after each request, which would end the test's
    transaction; Django's own test client unhooks the same signal handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(keep_the_test_connection, org, team, users, actor_as, settings):
    """One object of each kind in ``org``, by path prefix; and the owner's bearer token."""
    owner = actor_as("owner")
    now = timezone.now()
    service = service_create(actor=owner, name="Payments API")
    incident = incident_create(actor=owner, title="Checkout errors", service=service, labels={"env": "prod"})
    integration = integration_create(actor=owner, name="Alertmanager", kind="alertmanager").integration
    objects = {
        "services": service,
        "incidents": incident,
        "integrations": integration,
        "routing-rules": routing_rule_create(actor=owner, integration=integration, name="Drop noise"),
        "maintenance-windows": maintenance_window_create(
            actor=owner, name="Nightly", service=service, starts_at=now, ends_at=now + timedelta(hours=1)
        ),
        "teams": team,
        "members": users["viewer"].memberships.get(organization=org),
        "organizations": org,
        "schedules": schedule_create(actor=owner, team=team, name="Primary"),
        "escalation-policies": policy_create(actor=owner, name="Default"),
        "channels": channel_create(
            actor=owner, name="Ops hook", kind="webhook", url="https://example.com/h"
        ).channel,
        "invitations": account_services.invitation_create(
            actor=owner, email="new@example.com", role="viewer"
        ).invitation,
    }
    schedule = objects["schedules"]
    start = now + timedelta(hours=1)
    # Proposed by a member to a colleague: the owner's answers are refused, or given on_behalf.
    proposal = {"actor": actor_as("operator"), "schedule": schedule, "starts_at": start}
    proposal["ends_at"] = start + timedelta(hours=2)
    objects["overrides"] = cover_create(
        **proposal, kind=OVERRIDE, user=users["manager"], replaces=users["operator"]
    )
    objects["swaps"] = cover_create(
        **proposal, kind=SWAP, first_user=users["operator"], second_user=users["manager"]
    )
    objects["status-pages"] = page_create(actor=owner, title="Acme status", published=True)
    objects["status-components"] = component_create(actor=owner, page=objects["status-pages"], name="API")
    # A loopback address, admitted as the status-page tests admit their receiver; nothing is sent.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    objects["status-webhooks"] = webhook_add(
        actor=owner, page=objects["status-pages"], url="http://127.0.0.1:9/status-hook"
    ).subscriber
    token = account_services.api_token_create(actor=owner, name="fuzz")
    objects["tokens"] = token.token
    return {"ids": {prefix: obj.pk for prefix, obj in objects.items()}, "token": token.secret}


def _real_ids(case, ids: dict) -> None:
    match = re.match(r"^/api/v1/([a-z-]+)/\{id\}", case.path)
    if match and match.group(1) in ids and case.path_parameters is not None:
        case.path_parameters["id"] = ids[match.group(1)]


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.django_db
def test_every_operation_answers_as_documented(case, fuzz_world):
    _real_ids(case, fuzz_world["ids"])
    response = case.call(headers={"Authorization": f"Bearer {fuzz_world['token']}"})
    if known_exclusion(case, response):
        return
    case.validate_response(response, checks=CHECKS)
