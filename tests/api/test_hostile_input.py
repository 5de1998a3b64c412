"""Text PostgreSQL cannot store (NUL, lone surrogates), numbers no id can be, and instants outside
what the database keeps: each is a 400 naming the field or parameter, and nothing is stored."""

import json

import pytest

from audit.models import LedgerEntry
from incidents.ingest.services import integration_create
from incidents.models import Incident, RoutingRule, Service
from opsplatform.core.actors import Actor
from tests.incidents.factories import ServiceFactory

PROBLEM = "application/problem+json"


def post_json(api, path, text: str, method="POST"):
    # Raw text: the escapes below must reach the server as JSON escapes, exactly as a client sends them.
    return api.generic(method, path, text.encode(), content_type="application/json")


def field_errors(response) -> dict:
    assert response["Content-Type"] == PROBLEM, response.content
    body = json.loads(response.content)
    return {error["field"].split(".")[0]: error for error in body.get("errors", [])}


@pytest.fixture
def owner_api(api_as):
    return api_as("owner")


@pytest.mark.django_db
class TestUnstorableText:
    @pytest.mark.parametrize(
        "labels",
        [
            r'{"region": "eu\u0000west"}',
            r'{"re\u0000gion": "eu"}',
            r'{"\ud800": "eu"}',
            r'{"region": "\udfff"}',
        ],
    )
    def test_incident_labels(self, owner_api, org, labels):
        response = post_json(owner_api, "/api/v1/incidents/", f'{{"title": "disk full", "labels": {labels}}}')

        assert response.status_code == 400, response.content
        assert "labels" in field_errors(response)
        assert not Incident.objects.filter(organization=org).exists()

    def test_service_labels_on_update(self, owner_api, org):
        service = ServiceFactory(organization=org, labels={"tier": "1"})

        response = post_json(
            owner_api, f"/api/v1/services/{service.pk}/", r'{"labels": {"t\u0000": "1"}}', method="PATCH"
        )

        assert response.status_code == 400, response.content
        assert "labels" in field_errors(response)
        service.refresh_from_db()
        assert service.labels == {"tier": "1"}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("matchers", r'[{"field": "title", "op": "equals", "value": "a\u0000b"}]'),
            ("matchers", r'[{"field": "title", "op": "equals", "value": "\ud83d"}]'),
            ("matchers", r'[{"fi\u0000eld": "title", "op": "exists"}]'),
            ("add_labels", r'{"\ud800team": "db"}'),
            ("add_labels", r'{"team": "d\u0000b"}'),
        ],
    )
    def test_routing_rule(self, owner_api, org, field, value):
        integration = integration_create(
            actor=Actor.system("test", organization=org), name="am", kind="alertmanager"
        ).integration
        before = LedgerEntry.objects.count()

        response = post_json(
            owner_api,
            "/api/v1/routing-rules/",
            f'{{"integration": {integration.pk}, "name": "r", "{field}": {value}}}',
        )

        assert response.status_code == 400, response.content
        assert field in field_errors(response)
        assert not RoutingRule.objects.filter(integration=integration).exists()
        assert LedgerEntry.objects.count() == before


@pytest.mark.django_db
class TestIdsThatAreNoNumberOfARow:
    @pytest.mark.parametrize("value", ["1e400", "-1e400", "1e300", "1.5", "true", "9223372036854775808"])
    def test_incident_service(self, owner_api, org, value):
        response = post_json(owner_api, "/api/v1/incidents/", f'{{"title": "x", "service": {value}}}')

        assert response.status_code == 400, response.content
        assert response["Content-Type"] == PROBLEM
        assert not Incident.objects.filter(organization=org).exists()

    def test_service_owner_team(self, owner_api, org):
        response = post_json(owner_api, "/api/v1/services/", '{"name": "db", "owner_team": 1e400}')

        assert response.status_code == 400, response.content
        assert not Service.objects.filter(organization=org).exists()


@pytest.mark.django_db
class TestLedgerTimeFilters:
    @pytest.mark.parametrize(
        "value",
        [
            "2025-01-01T00:00:00+16:00",
            "2025-01-01T00:00:00-16:00",
            "2025-01-01T00:00:00+23:59",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "not a time",
        ],
    )
    @pytest.mark.parametrize("param", ["since", "until"])
    def test_refused_with_the_parameter_named(self, owner_api, param, value):
        response = owner_api.get("/api/v1/ledger/", {param: value})

        assert response.status_code == 400, response.content
        assert param in field_errors(response)

    @pytest.mark.parametrize("value", ["2025-01-01T00:00:00+15:59", "2025-01-01T00:00:00Z", "2025-01-01"])
    def test_ordinary_instants_still_work(self, owner_api, value):
        response = owner_api.get("/api/v1/ledger/", {"until": value})

        assert response.status_code == 200, response.content


@pytest.mark.django_db
class TestNestedObjectsInAPatchAreWhole:
    def test_a_runbook_link_without_its_url(self, owner_api, org):
        service = ServiceFactory(organization=org, runbook_links=[])

        response = owner_api.patch(
            f"/api/v1/services/{service.pk}/", {"runbook_links": [{"title": "t"}]}, format="json"
        )

        assert response.status_code == 400, response.content
        assert "runbook_links" in field_errors(response)
        service.refresh_from_db()
        assert service.runbook_links == []
