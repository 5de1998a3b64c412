"""New incidents kick an escalation tick when they commit (``incidents.ingest.escalate_soon``): the
message reaches the broker's queue for the tick, one at a time while it waits there, and repeats of
an open incident ask for nothing."""

import pytest
from django.test import Client

from incidents.ingest import escalate_soon
from incidents.models import Incident
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.kick_queue import private_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(monkeypatch):
    """The broker list the tick's messages land in, private to this test."""
    with private_queue(monkeypatch, escalate_soon.kick) as waiting:
        yield waiting


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
