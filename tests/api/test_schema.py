"""The OpenAPI schema documents every account endpoint, and the docs page works offline."""

import json
import re

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.validation import validate_schema

ACCOUNT_PATHS = {
    "/api/v1/organizations/": {"get"},
    "/api/v1/organizations/current/": {"get"},
    "/api/v1/organizations/{id}/": {"get", "patch"},
    "/api/v1/teams/": {"get", "post"},
    "/api/v1/teams/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/teams/{id}/members/": {"put"},
    "/api/v1/members/": {"get"},
    "/api/v1/members/{id}/": {"get", "patch", "delete"},
    "/api/v1/invitations/": {"get", "post"},
    "/api/v1/invitations/{id}/": {"get", "delete"},
    "/api/v1/invitations/{id}/revoke/": {"post"},
    "/api/v1/tokens/": {"get", "post"},
    "/api/v1/tokens/{id}/": {"get", "delete"},
}


@pytest.fixture
def schema(client, db):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_lists_every_account_endpoint(schema):
    for url, methods in ACCOUNT_PATHS.items():
        assert url in schema["paths"], url
        assert set(schema["paths"][url]) - {"parameters"} == methods, url


def test_schema_declares_bearer_auth(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"bearerAuth": []} in schema["paths"]["/api/v1/teams/"]["get"]["security"]


def test_errors_are_documented_as_problems(schema):
    responses = schema["paths"]["/api/v1/teams/{id}/"]["patch"]["responses"]

    for status in ("400", "401", "403", "404", "429"):
        assert list(responses[status]["content"]) == ["application/problem+json"], status
    assert "errors" in schema["components"]["schemas"]["Problem"]["properties"]


def test_secrets_are_only_in_the_create_responses(schema):
    created = schema["paths"]["/api/v1/tokens/"]["post"]["responses"]["201"]["content"]["application/json"]
    listed = schema["paths"]["/api/v1/tokens/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
    component = schema["components"]["schemas"]

    assert "secret" in component[created["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
    assert "secret" not in component[listed["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]


def test_account_endpoints_generate_without_warnings_and_validate(settings):
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("opsplatform.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    assert not GENERATOR_STATS, (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    validate_schema(schema)


@pytest.mark.django_db
def test_docs_page_serves_swagger_ui_from_local_static_files(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert not re.search(r"cdn\.|unpkg|jsdelivr|cdnjs", html)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


def _enforced_capabilities():
    """(path, method) -> the capability each viewset's map declares, from the URL resolver."""
    found = {}
    for path_, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        cls = getattr(callback, "cls", None)
        capabilities = getattr(cls, "capabilities", None) or {}
        actions = getattr(callback, "actions", None)
        key = actions.get(method.lower()) if actions else method.lower()
        if key in capabilities:
            found[(path_, method.lower())] = capabilities[key]
    return found


def test_every_operation_states_the_capability_its_view_enforces(schema):
    enforced = _enforced_capabilities()
    assert len(enforced) > 60  # every capability-guarded API operation, not a handful

    for (path_, method), capability in enforced.items():
        url = path_.replace("{pk}", "{id}")
        operation = schema["paths"][url][method]
        assert f"Requires `{capability}`" in operation.get("description", ""), (url, method)
        assert operation["description"].count("Requires `") == 1, (url, method)


def test_every_operation_with_query_parameters_documents_400(schema):
    for url, operations in schema["paths"].items():
        for method, operation in operations.items():
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                assert "400" in operation["responses"], (method, url)
            if "{" in url:
                assert "404" in operation["responses"], (method, url)
            if method == "delete":
                assert "400" in operation["responses"], (method, url)


def test_actions_answering_plain_lists_are_not_documented_as_pages(schema):
    reorder = schema["paths"]["/api/v1/integrations/{id}/rule-order/"]["post"]
    overrides = schema["paths"]["/api/v1/schedules/{id}/overrides/"]["get"]

    for operation in (reorder, overrides):
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
        assert not [
            p for p in operation.get("parameters", []) if p["name"] in ("page", "page_size", "ordering")
        ]


def test_times_of_day_are_documented_without_an_offset(schema):
    assert '"format": "time"' not in json.dumps(schema)
    start = schema["components"]["schemas"]["MaintenanceWindow"]["properties"]["start_time"]
    assert re.fullmatch(start["pattern"], "09:30")
    assert not re.fullmatch(start["pattern"], "09:30:00Z")


def test_page_size_is_documented_with_its_bounds(schema):
    for url in ("/api/v1/teams/", "/api/v1/ledger/"):
        (page_size,) = [p for p in schema["paths"][url]["get"]["parameters"] if p["name"] == "page_size"]
        assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
