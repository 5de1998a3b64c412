"""Text that is not Unicode (lone surrogates, legal in JSON's \\u escapes) and instants outside what
a datetime can hold in UTC: every format answers 400 (``/v2/enqueue`` in PagerDuty's shape) and
stores nothing. Decision: a lone surrogate anywhere in the document refuses it (identity fields such
as dedup keys cannot be repaired, and the raw payload is kept verbatim); an unrepresentable timestamp
is refused like any other unparsable one."""

import json

import pytest

from incidents.models import Alert, Incident, RawPayload
from tests.incidents.ingest.payloads import (
    alertmanager,
    am_alert,
    am_url,
    grafana,
    grafana_url,
    pd_trigger,
    post,
    webhook_url,
)

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"
OVERFLOW = "9999-12-31T23:59:59-23:00"
OVERFLOW_BY_A_MINUTE = "9999-12-31T23:59:59.999999-00:01"


def _send(client, url, body):
    return post(client, url, json.dumps(body).encode())  # ASCII escapes: "\ud800" stays a \u escape


def _nothing_stored():
    assert not Incident.objects.exists()
    assert not Alert.objects.exists()
    assert not RawPayload.objects.exists()


def _am_cases():
    bad_label = am_alert()
    bad_label["labels"]["pod"] = SURROGATE
    bad_key = am_alert()
    bad_key["labels"][SURROGATE] = "x"
    late = am_alert(starts=OVERFLOW)
    early = am_alert(starts=OVERFLOW_BY_A_MINUTE)
    ends = am_alert()
    ends["endsAt"] = OVERFLOW
    return [bad_label, bad_key, late, early, ends]


@pytest.mark.parametrize("alert", _am_cases())
@pytest.mark.parametrize("kind", ["alertmanager", "grafana"])
def test_alertmanager_and_grafana_refuse(client, make_integration, kind, alert):
    _, key = make_integration(kind)
    body = alertmanager(alert) if kind == "alertmanager" else grafana(alert)
    response = _send(client, am_url(key) if kind == "alertmanager" else grafana_url(key), body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    _nothing_stored()


@pytest.mark.parametrize(
    "body",
    [
        {"title": SURROGATE},
        {"title": "ok", "dedup_key": f"k{SURROGATE}"},
        {"title": "ok", "labels": {"env": SURROGATE}},
        {"title": "ok", "extra": [SURROGATE]},
    ],
)
def test_webhook_refuses(client, make_integration, body):
    _, key = make_integration("webhook")
    response = _send(client, webhook_url(key), body)
    assert response.status_code == 400, response.content
    assert "surrogate" in response.json()["detail"]
    _nothing_stored()


@pytest.mark.parametrize(
    "change",
    [
        {"summary": SURROGATE},
        {"timestamp": OVERFLOW},
        {"timestamp": OVERFLOW_BY_A_MINUTE},
        {"custom_details": {"k": SURROGATE}},
    ],
)
def test_pagerduty_refuses_in_its_own_shape(client, make_integration, change):
    _, key = make_integration("pagerduty")
    response = _send(client, "/v2/enqueue", pd_trigger(key, **change))
    assert response.status_code == 400, response.content
    assert response.json()["status"] == "invalid event"
    _nothing_stored()


def test_heartbeat_body_is_opaque(client, make_integration):
    """A heartbeat's body is not read as JSON: its \\u escapes are kept as the text they are."""
    integration, key = make_integration("heartbeat", heartbeat_period_seconds=300)
    response = _send(client, f"/api/v1/integrations/{key}/heartbeat/", {"note": SURROGATE})
    assert response.status_code == 200, response.content
    assert RawPayload.objects.get(integration=integration).body == '{"note": "\\ud800"}'
