"""``POST /api/v1/integrations/<key>/grafana/``: Grafana's payload and its HMAC signature."""

import hashlib
import hmac
import json
import time

import pytest

from incidents.ingest.formats.grafana import SignatureError, verify_signature
from incidents.ingest.services import integration_update
from incidents.models import Alert, Incident, Integration, RawPayload
from opsplatform.core.actors import Actor
from tests.incidents.ingest.payloads import (
    am_alert,
    grafana,
    grafana_url,
)

pytestmark = pytest.mark.django_db
SECRET = "grafana-contact-point-secret-4f1a"


def sign(body: bytes, secret=SECRET, timestamp=None) -> str:
    message = f"{timestamp}:".encode() + body if timestamp is not None else body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send(client, key, body: bytes, **headers):
    return client.post(grafana_url(key), body, content_type="application/json", **headers)


@pytest.fixture
def unsigned(make_integration):
    return make_integration("grafana")


@pytest.fixture
def signed(make_integration):
    return make_integration("grafana", hmac_secret=SECRET)


def test_grafana_payload_becomes_an_incident_with_its_links(client, unsigned):
    _, key = unsigned
    body = json.dumps(grafana(am_alert("1a2b3c4d5e6f7a8b"))).encode()

    assert send(client, key, body).status_code == 202

    alert = Alert.objects.get()
    links = {link["text"]: link["href"] for link in alert.links}
    assert links["Dashboard"].startswith("https://grafana.example.com/d/checkout")
    assert "Panel" in links and "Silence" in links
    assert alert.source.startswith("checkout-")
    assert alert.labels["grafana_folder"] == "Payments"
    assert Incident.objects.get().source == "grafana"


def test_values_must_be_numbers(client, unsigned):
    _, key = unsigned
    payload = grafana(am_alert())
    payload["alerts"][0]["values"] = {"A": "high"}

    response = send(client, key, json.dumps(payload).encode())

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "alerts.0.values.A"


def test_a_signed_request_is_accepted(client, signed):
    _, key = signed
    body = json.dumps(grafana()).encode()

    response = send(client, key, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=sign(body))

    assert response.status_code == 202


def test_signature_over_timestamp_and_body_when_a_timestamp_is_sent(client, signed):
    _, key = signed
    body = json.dumps(grafana()).encode()
    now = str(int(time.time()))

    ok = send(
        client,
        key,
        body,
        HTTP_X_GRAFANA_ALERTING_SIGNATURE=sign(body, timestamp=now),
        HTTP_X_GRAFANA_ALERTING_TIMESTAMP=now,
    )
    body_only = send(
        client, key, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=sign(body), HTTP_X_GRAFANA_ALERTING_TIMESTAMP=now
    )

    assert ok.status_code == 202
    assert body_only.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_GRAFANA_ALERTING_SIGNATURE": "0" * 64},
        {"HTTP_X_GRAFANA_ALERTING_SIGNATURE": "not-hex"},
    ],
    ids=["missing", "wrong", "garbage"],
)
def test_bad_signatures_are_refused_before_anything_is_written(client, signed, headers):
    _, key = signed
    body = json.dumps(grafana()).encode()

    response = send(client, key, body, **headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not Incident.objects.exists() and not RawPayload.objects.exists()


def test_a_replayed_old_timestamp_is_refused(client, signed):
    _, key = signed
    body = json.dumps(grafana()).encode()
    old = str(int(time.time()) - 3600)

    response = send(
        client,
        key,
        body,
        HTTP_X_GRAFANA_ALERTING_SIGNATURE=sign(body, timestamp=old),
        HTTP_X_GRAFANA_ALERTING_TIMESTAMP=old,
    )

    assert response.status_code == 401
    assert "old" in response.json()["detail"]


def test_a_tampered_body_is_refused(client, signed):
    _, key = signed
    body = json.dumps(grafana()).encode()
    signature = sign(body)

    response = send(
        client,
        key,
        body.replace(b"HighErrorRate", b"LowErrorRate"),
        HTTP_X_GRAFANA_ALERTING_SIGNATURE=signature,
    )

    assert response.status_code == 401


def test_custom_header_names(client, make_integration):
    _, key = make_integration(
        "grafana", hmac_secret=SECRET, hmac_header="X-Hub-Signature", hmac_timestamp_header="X-Sent-At"
    )
    body = json.dumps(grafana()).encode()
    now = str(int(time.time()))

    response = send(client, key, body, HTTP_X_HUB_SIGNATURE=sign(body, timestamp=now), HTTP_X_SENT_AT=now)

    assert response.status_code == 202


def test_the_secret_is_stored_encrypted_and_can_be_cleared(signed, org):
    integration, _ = signed
    integration.refresh_from_db()
    assert integration.hmac_secret.startswith("v1.") and SECRET not in integration.hmac_secret

    integration_update(actor=Actor.system("test", organization=org), integration=integration, hmac_secret="")

    assert Integration.objects.get(pk=integration.pk).hmac_secret == ""


def test_verify_signature_unit():
    body = b'{"a": 1}'
    verify_signature(secret="s", body=body, signature=sign(body, "s"), timestamp=None, max_age_seconds=300)
    verify_signature(
        secret="s", body=body, signature="sha256=" + sign(body, "s"), timestamp=None, max_age_seconds=300
    )
    with pytest.raises(SignatureError):
        verify_signature(
            secret="s", body=body, signature=sign(body, "t"), timestamp=None, max_age_seconds=300
        )
    with pytest.raises(SignatureError):
        verify_signature(
            secret="s", body=body, signature=sign(body, "s", "x"), timestamp="x", max_age_seconds=300
        )
