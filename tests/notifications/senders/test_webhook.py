"""The outbound webhook sender: signed (verified like a receiver would) and refused when it points at
a non-public address."""

import socket

import pytest
from django.test import override_settings

from notifications.models import Notification, NotificationStatus
from opsplatform.core import http
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import verify_signature
from tests.notifications.ticks import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def test_webhook_is_signed_and_the_receiver_can_verify_it(org, service, open_incident, receiver):
    issued = make_channel(org, kind="webhook", url=receiver.url("/opsplatform"))
    assert issued.signing_secret.startswith("whsec_")
    make_policy(org, step(("channel", issued.channel)), services=[service])
    incident, _ = page(open_incident)
    request = receiver.requests[0]
    assert verify_signature(issued.signing_secret, request.headers, request.body)
    assert not verify_signature("whsec_wrong", request.headers, request.body)
    tampered = request.body.replace(b"Checkout", b"Checkin")
    assert not verify_signature(issued.signing_secret, request.headers, tampered)
    body = request.json()
    assert body["type"] == "incident.notification"
    assert body["incident"]["id"] == incident.pk
    row = Notification.objects.get()
    assert request.headers["x-opsplatform-delivery"] == row.idempotency_key == body["delivery_id"]
    assert request.headers["idempotency-key"] == row.idempotency_key


def test_refused_destination_is_dead_lettered_at_once(org, service, open_incident, monkeypatch):
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        channel = make_channel(org, kind="webhook", url="http://internal.example.test/hook").channel
        make_policy(org, step(("channel", channel)), services=[service])
        monkeypatch.setattr(http, "_resolve", lambda host, port: [(socket.AF_INET, ("10.0.0.9", port))])
        _, stats = page(open_incident)
    row = Notification.objects.get()
    assert (stats.dead, row.status, row.attempts) == (1, NotificationStatus.DEAD, 1)
    assert "non-public address" in row.last_error
