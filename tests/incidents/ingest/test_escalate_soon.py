"""New incidents kick an escalation tick when they commit (``incidents.ingest.escalate_soon``): the
message reaches the broker's queue for the tick, one at a time while it waits there, and repeats of
an open incident ask for nothing."""

import json
import uuid

import pytest
from django.test import Client

from incidents.ingest import escalate_soon
from incidents.models import Incident
from opsplatform.celery import app
from opsplatform.core import kicks
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(monkeypatch):
    """The broker list the tick's messages land in, private to this test."""
    name = f"test-escalate-{uuid.uuid4().hex}"

    class PrivateQueue:
        """The real app, sending to this test's queue (Celery builds its router once per process,
        so routes set now would not be read)."""

        def send_task(self, task, **options):
            return app.send_task(task, queue=name, **options)

    monkeypatch.setattr(kicks, "current_app", PrivateQueue())
    escalate_soon.kick.started()
    escalate_soon.kick.forget()
    with app.connection_for_write() as connection:
        # The broker's own Redis client (it speaks whatever address form the broker URL uses).
        broker = connection.default_channel.client
        yield lambda: [json.loads(raw)["headers"]["task"] for raw in broker.lrange(name, 0, -1)]
        broker.delete(name)
    escalate_soon.kick.started()


def test_a_new_incident_kicks_a_tick_unless_one_is_waiting(make_integration, queue):
    _integration, key = make_integration("pagerduty")
    client = Client()
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="first")).status_code == 202
    assert Incident.objects.get(dedup_key="first").next_escalation_at is not None
    assert queue() == [escalate_soon.TASK]

    # While that tick waits, another new incident (from this or any process) sends nothing more: the
    # waiting tick will claim it too. A repeat never asks.
    escalate_soon.kick.forget()
    assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key="second")).status_code == 202
    assert queue() == [escalate_soon.TASK]
    escalate_soon.kick.started()  # the tick runs: what comes next needs a tick of its own
    escalate_soon.kick.forget()
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
