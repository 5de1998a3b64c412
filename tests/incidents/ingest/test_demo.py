"""``seed_demo --json`` lists one integration of each kind per organization, and its keys work."""

import io
import json

import pytest
from django.core.management import call_command

from incidents.models import Incident, IntegrationKind, MaintenanceWindow, RoutingRule
from opsplatform.devtools.demo.seed_integrations import KEYS
from tests.incidents.ingest.payloads import alertmanager, am_alert, pd_trigger, post

pytestmark = pytest.mark.django_db


def seed() -> dict:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_lists_every_kind_with_url_and_key_and_is_idempotent(client, settings):
    settings.SITE_URL = "https://ops.example.test"
    first = seed()
    second = seed()

    assert first == second
    for org in first["organizations"]:
        listed = {item["kind"]: item for item in org["integrations"]}
        assert set(listed) == set(IntegrationKind.values)
        for kind, item in listed.items():
            assert item["key"] == KEYS[org["slug"]][kind]
            assert item["url"].startswith("https://ops.example.test/")
            if kind != "pagerduty":
                assert item["key"] in item["url"]
    assert RoutingRule.objects.filter(name__startswith="Payment alerts").count() == 2
    assert MaintenanceWindow.objects.count() == 2


def test_the_documented_demo_keys_ingest(client):
    summary = seed()
    acme = {item["kind"]: item for item in summary["organizations"][0]["integrations"]}
    path = acme["alertmanager"]["url"].split("://", 1)[1].split("/", 1)[1]

    assert (
        post(client, f"/{path}", alertmanager(am_alert("aaaa000000000001", severity="warning"))).status_code
        == 202
    )
    assert post(client, "/v2/enqueue", pd_trigger(acme["pagerduty"]["key"])).status_code == 202

    # The seeded rule: service=payment and firing → Payments API at SEV1.
    incident = Incident.objects.get(dedup_key__startswith="group:")
    assert incident.severity == "sev1" and incident.service.name == "Payments API"
