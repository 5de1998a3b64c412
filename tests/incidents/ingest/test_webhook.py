"""``POST /api/v1/integrations/<key>/webhook/``: generic JSON mapped by JSON pointers and templates."""

import pytest

from incidents.ingest.formats import webhook
from incidents.ingest.formats.webhook import render, resolve_pointer, validate_mapping
from incidents.models import Incident, RawPayload, Severity, Status
from tests.incidents.ingest.payloads import post, webhook_url

pytestmark = pytest.mark.django_db

MAPPING = {
    "title": "{{ /check/name }} failed on {{ /host }}",
    "dedup_key": "/id",
    "severity": "/level",
    "severity_map": {"P1": "sev1", "P2": "sev2"},
    "status": "/state",
    "description": "/message",
    "source": "/host",
    "labels": {"env": "/tags/env", "region": "/tags/region"},
}
SAMPLE = {
    "id": "chk-42",
    "check": {"name": "HTTP 200 /health"},
    "host": "web-3.eu.example.net",
    "level": "P1",
    "state": "alerting",
    "message": "Got 503 three times in a row",
    "tags": {"env": "prod", "region": "eu-central-1"},
}


@pytest.fixture
def hook(make_integration):
    return make_integration("webhook", webhook_mapping=MAPPING)


def test_mapped_payload_opens_an_incident(client, hook):
    _, key = hook

    assert post(client, webhook_url(key), SAMPLE).status_code == 202

    incident = Incident.objects.get()
    assert incident.title == "HTTP 200 /health failed on web-3.eu.example.net"
    assert incident.severity == Severity.SEV1 and incident.dedup_key == "chk-42"
    alert = incident.alerts.get()
    assert alert.labels == {"env": "prod", "region": "eu-central-1"}
    assert alert.description == "Got 503 three times in a row" and alert.source == "web-3.eu.example.net"


def test_resolved_values_resolve(client, hook):
    _, key = hook
    post(client, webhook_url(key), SAMPLE)

    post(client, webhook_url(key), {**SAMPLE, "state": "OK"})

    assert Incident.objects.get().status == Status.RESOLVED


def test_items_map_several_alerts_from_one_request(client, make_integration):
    _, key = make_integration(
        "webhook",
        webhook_mapping={"items": "/events", "title": "/name", "dedup_key": "/id", "severity": "/sev"},
    )
    body = {"events": [{"id": "a", "name": "A down", "sev": "critical"}, {"id": "b", "name": "B down"}]}

    response = post(client, webhook_url(key), body)

    assert response.status_code == 202 and response.json()["events"] == 2
    assert sorted(Incident.objects.values_list("dedup_key", flat=True)) == ["a", "b"]


def test_without_a_dedup_key_the_title_deduplicates(client, make_integration):
    _, key = make_integration("webhook", webhook_mapping={"title": "/title"})
    post(client, webhook_url(key), {"title": "Backup failed"})
    post(client, webhook_url(key), {"title": "Backup failed"})

    incident = Incident.objects.get()
    assert incident.alert_occurrences == 2 and incident.dedup_key.startswith("title:")


def test_default_mapping_reads_a_native_shape(client, make_integration):
    _, key = make_integration("webhook")
    body = {"title": "Queue backlog", "dedup_key": "q1", "severity": "warning", "labels": {"queue": "mail"}}

    assert post(client, webhook_url(key), body).status_code == 202
    assert Incident.objects.get().alerts.get().labels == {"queue": "mail"}


def test_missing_title_is_a_400(client, hook):
    _, key = hook
    response = post(client, webhook_url(key), {"id": "x"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "title"
    assert not RawPayload.objects.exists()


def test_items_pointer_to_a_non_array_is_a_400(client, make_integration):
    _, key = make_integration("webhook", webhook_mapping={"items": "/events", "title": "/name"})
    assert post(client, webhook_url(key), {"events": {"name": "x"}}).status_code == 400


def test_pointer_and_template_rules():
    doc = {"a/b": {"~x": [10, {"y": True}]}, "n": None}
    assert resolve_pointer(doc, "/a~1b/~0x/1/y") is True
    assert render("/a~1b/~0x/0", doc) == "10"
    assert render("{{ /a~1b/~0x/1 }}!", doc) == '{"y": true}!'
    assert render("{{ /missing }}-{{/n}}", doc) == ""
    assert render("{{ /missing }}-{{/a~1b/~0x/0}}", doc) == "-10"
    assert render("sev2", doc) == "sev2"
    assert resolve_pointer([1, 2], "/01") is webhook._MISSING  # a leading zero is not an index
    assert render("/01", [1, 2]) == ""


@pytest.mark.parametrize(
    "mapping",
    [
        [],
        {"title": 5},
        {"title": "/t", "nope": "/x"},
        {"title": "/t", "items": "alerts"},
        {"title": "/t", "severity_map": {"P1": "urgent"}},
        {"title": "/t", "labels": 3},
        {"title": "/t", "resolved_values": "ok"},
    ],
)
def test_bad_mappings_are_refused(mapping):
    assert validate_mapping(mapping)
