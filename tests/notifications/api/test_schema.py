"""The OpenAPI schema documents every on-call and notifications endpoint and validates."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from notifications.models import Channel, EscalationPolicy, Notification, Schedule
from tests.indexes import table_indexes

pytestmark = pytest.mark.django_db


PAGING_PATHS = {
    "/api/v1/schedules/": {"get", "post"},
    "/api/v1/schedules/{id}/": {"get", "patch", "delete"},
    "/api/v1/schedules/{id}/oncall/": {"get"},
    "/api/v1/schedules/{id}/overrides/": {"get", "post"},
    "/api/v1/escalation-policies/": {"get", "post"},
    "/api/v1/escalation-policies/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/": {"get", "post"},
    "/api/v1/channels/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/{id}/rotate-secret/": {"post"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/{id}/": {"get"},
    "/api/v1/notifications/{id}/resend/": {"post"},
}


def test_schema_documents_the_paging_endpoints(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    for url, methods in PAGING_PATHS.items():
        assert url in schema["paths"], url
        assert set(schema["paths"][url]) - {"parameters"} == methods, url
    oncall = schema["paths"]["/api/v1/schedules/{id}/oncall/"]["get"]
    assert {p["name"] for p in oncall["parameters"]} >= {"at", "window_hours"}
    listing = schema["paths"]["/api/v1/notifications/"]["get"]
    assert "incident" in {p["name"] for p in listing["parameters"]}
    components = schema["components"]["schemas"]
    # Secrets go in (request component) and never come out (response component).
    assert {"url", "auth_token"} <= set(components["ChannelRequest"]["properties"])
    assert not {"url", "auth_token"} & set(components["Channel"]["properties"])


def test_paging_endpoints_generate_without_warnings_and_validate():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("notifications.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    assert not GENERATOR_STATS, (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    validate_schema(schema)


def test_models_stay_tenant_scoped():
    # Each is found by its organization through an index that starts with it: its own, or (the
    # outbox's, opsplatform.core.key_indexes) a composite one.
    for model in (Schedule, EscalationPolicy, Channel, Notification):
        assert model._meta.get_field("organization").related_model._meta.model_name == "organization"
        definitions = table_indexes(model._meta.db_table).values()
        assert any("(organization_id)" in d or "(organization_id," in d for d in definitions), model
