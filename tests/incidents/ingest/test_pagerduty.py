"""``POST /v2/enqueue``: PagerDuty Events API v2 requests, answers and semantics."""

import json

import pytest

from audit.models import LedgerEntry
from incidents.models import Alert, Incident, RawPayload, Severity, Status
from incidents.services import incident_resolve
from tests.incidents.ingest.payloads import (
    pd_action,
    pd_trigger,
    post,
)

pytestmark = pytest.mark.django_db
ENQUEUE = "/v2/enqueue"


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


def assert_invalid(response, *messages):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    for message in messages:
        assert message in body["errors"], body["errors"]
    return body


def test_trigger_answers_202_with_pagerduty_body(client, pd, service):
    integration, key = pd

    response = post(client, ENQUEUE, pd_trigger(key))

    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"}
    incident = Incident.objects.get()
    assert incident.title == "DISK at 99% on machine prod-datapipe03.example.com"
    assert incident.severity == Severity.SEV1
    assert incident.dedup_key == "srv01/HTTP" and incident.integration == integration
    alert = incident.alerts.get()
    assert alert.source == "prod-datapipe03.example.com"
    assert alert.labels == {
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "client": "Sample Monitoring Service",
    }
    assert '"free space": "1%"' in alert.description
    texts = {link["text"] for link in alert.links}
    assert {"Sample Monitoring Service", "Host overview", "Disk usage"} <= texts


def test_repeated_triggers_count_on_one_incident(client, pd):
    _, key = pd
    for _ in range(5):
        assert post(client, ENQUEUE, pd_trigger(key)).status_code == 202

    incident = Incident.objects.get()
    assert incident.alert_occurrences == 5 and incident.alerts_total == 1
    assert incident.alerts.get().occurrences == 5
    assert LedgerEntry.objects.filter(verb="incident.triggered").count() == 1


def test_trigger_without_dedup_key_gets_one_generated_and_returned(client, pd):
    _, key = pd

    first = post(client, ENQUEUE, pd_trigger(key, dedup_key=None)).json()["dedup_key"]
    second = post(client, ENQUEUE, pd_trigger(key, dedup_key=None)).json()["dedup_key"]

    assert first != second and len(first) == 32
    assert sorted(Incident.objects.values_list("dedup_key", flat=True)) == sorted([first, second])


def test_acknowledge_and_resolve(client, pd):
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key))

    ack = post(client, ENQUEUE, pd_action(key, "acknowledge"))
    incident = Incident.objects.get()
    assert ack.status_code == 202 and incident.status == Status.ACKNOWLEDGED
    assert incident.next_escalation_at is None and incident.acknowledged_by is None
    assert LedgerEntry.objects.get(verb="incident.acknowledged").actor_type == "integration"

    resolved = post(client, ENQUEUE, pd_action(key, "resolve"))
    incident.refresh_from_db()
    assert resolved.status_code == 202 and incident.status == Status.RESOLVED
    assert incident.alerts.get().status == "resolved"


def test_acknowledge_twice_is_a_no_op(client, pd):
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key))
    post(client, ENQUEUE, pd_action(key, "acknowledge"))

    assert post(client, ENQUEUE, pd_action(key, "acknowledge")).status_code == 202

    assert LedgerEntry.objects.filter(verb="incident.acknowledged").count() == 1


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_unknown_dedup_key_is_accepted_and_ignored(client, pd, action):
    _, key = pd

    response = post(client, ENQUEUE, pd_action(key, action, dedup_key="never-seen"))

    assert response.status_code == 202
    assert response.json()["dedup_key"] == "never-seen"
    assert not Incident.objects.exists() and not Alert.objects.exists()
    assert RawPayload.objects.get().result[0]["outcome"] == "ignored"


def test_trigger_after_resolve_opens_a_new_incident(client, pd):
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key))
    post(client, ENQUEUE, pd_action(key, "resolve"))

    post(client, ENQUEUE, pd_trigger(key))

    assert Incident.objects.filter(dedup_key="srv01/HTTP", status=Status.RESOLVED).count() == 1
    assert Incident.objects.filter(dedup_key="srv01/HTTP", status=Status.TRIGGERED).count() == 1


def test_trigger_after_a_person_resolved_opens_a_new_incident(client, pd, org, actor_as):
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key))
    incident_resolve(actor=actor_as("operator"), incident=Incident.objects.get())

    post(client, ENQUEUE, pd_trigger(key))

    assert Incident.objects.filter(status=Status.TRIGGERED).count() == 1
    assert Incident.objects.count() == 2
    assert Alert.objects.filter(active=True).count() == 1


def test_severities_map(client, pd):
    _, key = pd
    for index, severity in enumerate(["critical", "error", "warning", "info"]):
        post(client, ENQUEUE, pd_trigger(key, dedup_key=f"k{index}", severity=severity))

    assert list(Incident.objects.order_by("dedup_key").values_list("severity", flat=True)) == [
        Severity.SEV1,
        Severity.SEV2,
        Severity.SEV3,
        Severity.SEV4,
    ]


def test_minimal_trigger(client, pd):
    _, key = pd
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "Ping failed", "source": "db-2", "severity": "warning"},
    }
    response = post(client, ENQUEUE, body)
    assert response.status_code == 202

    # Without a dedup_key one is generated, returned, and the alert and incident carry it.
    dedup_key = response.json()["dedup_key"]
    assert dedup_key
    alert = Alert.objects.get()
    assert alert.dedup_key == dedup_key and alert.title == "Ping failed" and alert.source == "db-2"
    assert alert.severity == Severity.SEV3
    incident = Incident.objects.get()
    assert alert.incident_id == incident.pk
    assert incident.dedup_key == dedup_key and incident.title == "Ping failed"
    assert incident.severity == Severity.SEV3 and incident.status == Status.TRIGGERED


# --- invalid events: PagerDuty's 400 body ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b["payload"].pop("summary"), "'payload.summary' is missing or blank"),
        (lambda b: b["payload"].update(summary="   "), "'payload.summary' is missing or blank"),
        (lambda b: b["payload"].pop("source"), "'payload.source' is missing or blank"),
        (lambda b: b["payload"].pop("severity"), "'payload.severity' is missing or blank"),
        (lambda b: b.pop("payload"), "'payload' is missing or blank"),
        (lambda b: b.pop("event_action"), "'event_action' is missing or blank"),
        (
            lambda b: b.update(dedup_key="x" * 256),
            "Length of 'dedup_key' is incorrect (at most 255 characters)",
        ),
        (
            lambda b: b["payload"].update(summary="s" * 1025),
            "Length of 'payload.summary' is incorrect (at most 1024 characters)",
        ),
    ],
)
def test_invalid_events(client, pd, change, message):
    _, key = pd
    body = pd_trigger(key)
    change(body)

    assert_invalid(post(client, ENQUEUE, body), message)
    assert not Incident.objects.exists() and not RawPayload.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["payload"].update(severity="high"), "'payload.severity' is invalid"),
        (lambda b: b.update(event_action="escalate"), "'event_action' is invalid"),
        (lambda b: b["payload"].update(timestamp="last tuesday"), "'payload.timestamp' is invalid"),
        (lambda b: b.update(dedup_key=42), "'dedup_key' is invalid"),
        (lambda b: b.update(links=[{"text": "no href"}]), "'links.0.href' is missing or blank"),
        (lambda b: b.update(images="x"), "'images' is invalid"),
    ],
)
def test_wrong_values_are_named(client, pd, change, field):
    _, key = pd
    body = pd_trigger(key)
    change(body)

    errors = assert_invalid(post(client, ENQUEUE, body))["errors"]

    assert any(error.startswith(field) for error in errors), errors


def test_acknowledge_needs_a_dedup_key(client, pd):
    _, key = pd
    body = {"routing_key": key, "event_action": "acknowledge"}
    assert_invalid(post(client, ENQUEUE, body), "'dedup_key' is missing or blank")


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b'"text"', b"\xff"])
def test_malformed_bodies_get_the_pagerduty_error_shape(client, pd, raw):
    response = client.post(ENQUEUE, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"


def test_unknown_routing_key_is_404_and_nothing_written(client, pd):
    response = post(client, ENQUEUE, pd_trigger("opi_unknownkey0000000000000000000"))

    assert response.status_code == 404
    assert response.json()["status"] == "invalid routing key"
    assert not Incident.objects.exists() and not RawPayload.objects.exists()


def test_missing_routing_key_is_400(client, pd):
    body = pd_trigger("x")
    body.pop("routing_key")
    assert_invalid(post(client, ENQUEUE, body), "'routing_key' is missing or blank")


def test_only_post(client):
    response = client.get(ENQUEUE)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_no_csrf_and_no_session_needed(pd):
    from django.test import Client

    _, key = pd
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(ENQUEUE, json.dumps(pd_trigger(key)), content_type="application/json")

    assert response.status_code == 202
    assert "sessionid" not in response.cookies


def test_tenant_isolation(make_integration, client, pd, other_org):
    _, key = pd
    _, foreign_key = make_integration("pagerduty", organization=other_org)
    post(client, ENQUEUE, pd_trigger(key))

    post(client, ENQUEUE, pd_trigger(foreign_key))  # same dedup key, other organization
    post(client, ENQUEUE, pd_action(foreign_key, "resolve"))

    ours = Incident.objects.get(organization=pd[0].organization)
    theirs = Incident.objects.get(organization=other_org)
    assert ours.status == Status.TRIGGERED and ours.alert_occurrences == 1
    assert theirs.status == Status.RESOLVED
    assert LedgerEntry.objects.filter(organization=other_org, verb="incident.resolved").count() == 1
    assert not LedgerEntry.objects.filter(organization=ours.organization, verb="incident.resolved").exists()
