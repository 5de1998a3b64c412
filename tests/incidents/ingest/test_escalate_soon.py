"""New incidents ask for an escalation tick when they commit (``incidents.ingest.escalate_soon``): the
message reaches the broker's queue for the tick, at most one per ``KICK_SECONDS`` per process, and
repeats of an open incident ask for nothing."""

import json
import uuid

import pytest
from django.test import Client

from incidents.ingest import counters, escalate_soon
from incidents.models import Incident
from opsplatform.celery import app
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = pytest.mark.django_db(transaction=True)


def forget():
    """As if no process had asked for a tick lately."""
    escalate_soon._last = float("-inf")
    counters.client().delete(escalate_soon.shared_key())


@pytest.fixture
def queue(monkeypatch):
    """The broker list the tick's messages land in, private to this test."""
    name = f"test-escalate-{uuid.uuid4().hex}"

    class PrivateQueue:
        """The real app, sending to this test's queue (Celery builds its router once per process,
        so routes set now would not be read)."""

        def send_task(self, task, **options):
            return app.send_task(task, queue=name, **options)

    monkeypatch.setattr(escalate_soon, "app", PrivateQueue())
    # An interval no slow machine outlasts between two requests of the test.
    monkeypatch.setattr(escalate_soon, "KICK_SECONDS", 60)
    forget()
    monkeypatch.setattr(escalate_soon, "_last", float("-inf"))
    with app.connection_for_write() as connection:
        # The broker's own Redis client (it speaks whatever address form the broker URL uses).
        broker = connection.default_channel.client
        yield lambda: [json.loads(raw)["headers"]["task"] for raw in broker.lrange(name, 0, -1)]
        broker.delete(name)


def test_a_new_incident_asks_for_a_tick_once_per_interval(make_integration, queue):
    _integration, key = make_integration("pagerduty")
    client = Client()
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="first")).status_code == 202
    assert Incident.objects.get(dedup_key="first").next_escalation_at is not None
    assert queue() == [escalate_soon.TASK]

    # Within the interval a second new incident asks for nothing more; nor does it from a process
    # that did not ask itself (the key in Redis says another one did); a repeat never asks.
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="second")).status_code == 202
    escalate_soon._last = float("-inf")
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="fourth")).status_code == 202
    assert queue() == [escalate_soon.TASK]
    forget()
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="first")).status_code == 202
    assert queue() == [escalate_soon.TASK]
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="third")).status_code == 202
    assert queue() == [escalate_soon.TASK, escalate_soon.TASK]


def test_off_when_disabled(make_integration, queue, settings):
    settings.INGEST_ESCALATE_AT_ONCE = False
    _integration, key = make_integration("pagerduty")
    assert post(Client(), "/v2/enqueue", pd_trigger(key, dedup_key="quiet")).status_code == 202
    assert Incident.objects.filter(dedup_key="quiet").exists()
    assert queue() == []
