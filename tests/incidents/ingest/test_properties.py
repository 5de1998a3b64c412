"""Property: whatever body arrives at an ingestion endpoint, the answer is never a 5xx; a 2xx means
its payload and alerts or incidents are stored; a 4xx means nothing new was stored."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Alert, Incident, RawPayload
from tests.incidents.ingest.payloads import (
    alertmanager,
    am_url,
    grafana,
    grafana_url,
    pd_trigger,
    webhook_url,
)
from tests.incidents.ingest.strategies import any_json, mutated, raw_bytes

pytestmark = pytest.mark.django_db

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WEBHOOK_SAMPLE = {"title": "Disk full", "dedup_key": "disk-1", "severity": "sev2", "labels": {"env": "prod"}}


def _counts():
    return Incident.objects.count(), Alert.objects.count(), RawPayload.objects.count()


def _send(client, url, body: str | bytes):
    return client.post(url, body, content_type="application/json")


def _check(response, before, *, pagerduty=False):
    assert response.status_code < 500, response.content[:500]
    after = _counts()
    if response.status_code >= 400:
        assert after == before, response.content[:500]
        return
    body = response.json()
    assert after[2] == before[2] + 1  # the payload is kept
    if pagerduty:
        key = body["dedup_key"]
        assert (
            Alert.objects.filter(dedup_key__endswith=key).exists()
            or Incident.objects.filter(dedup_key__endswith=key).exists()
        )
        return
    assert set(body["incidents"]) <= set(Incident.objects.values_list("pk", flat=True))
    if body["events"]:
        assert after[1] > before[1] or Alert.objects.exists()


@pytest.fixture
def endpoints(make_integration):
    urls = {}
    for kind, url in [("alertmanager", am_url), ("grafana", grafana_url), ("webhook", webhook_url)]:
        _, key = make_integration(kind)
        urls[kind] = url(key)
    _, urls["pagerduty"] = make_integration("pagerduty")
    _, key = make_integration("heartbeat", heartbeat_period_seconds=300)
    urls["heartbeat"] = f"/api/v1/integrations/{key}/heartbeat/"
    return urls


@BOUNDED
@given(body=st.one_of(mutated(alertmanager()), any_json, raw_bytes))
def test_alertmanager(client, endpoints, body):
    before = _counts()
    _check(_send(client, endpoints["alertmanager"], body), before)


@BOUNDED
@given(body=st.one_of(mutated(grafana()), any_json))
def test_grafana(client, endpoints, body):
    before = _counts()
    _check(_send(client, endpoints["grafana"], body), before)


@BOUNDED
@given(body=st.one_of(mutated(WEBHOOK_SAMPLE), any_json, raw_bytes))
def test_webhook(client, endpoints, body):
    before = _counts()
    _check(_send(client, endpoints["webhook"], body), before)


@BOUNDED
@given(data=st.data())
def test_pagerduty(client, endpoints, data):
    key = endpoints["pagerduty"]
    body = data.draw(st.one_of(mutated(pd_trigger(key), keep=("routing_key",)), any_json, raw_bytes))
    before = _counts()
    _check(_send(client, "/v2/enqueue", body), before, pagerduty=True)


@BOUNDED
@given(body=st.one_of(any_json, raw_bytes))
def test_heartbeat(client, endpoints, body):
    before = _counts()
    response = _send(client, endpoints["heartbeat"], body)
    assert response.status_code == 200, response.content[:500]
    assert _counts()[2] == before[2] + 1
