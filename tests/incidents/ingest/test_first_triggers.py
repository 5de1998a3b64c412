"""A repeat that arrives while this process still writes its key's first trigger waits for that
write, then goes through the one-statement repeat (``incidents.ingest.first_triggers``) instead of
queueing on the new incident's row with a full transaction of its own."""

import threading
import time

import pytest
from django.db import connections
from django.test import Client

from audit.chain import CHAIN_LOCK_NAMESPACE
from incidents.ingest import first_triggers, group_commit
from incidents.ingest.batch import Batch
from incidents.models import Alert, Incident, RawPayload
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.incidents.ingest.test_group_commit import _another_connection

pytestmark = pytest.mark.django_db(transaction=True)
ENQUEUE = "/v2/enqueue"


def _post_in_thread(key, dedup_key, answers):
    def run():
        try:
            answers.append(post(Client(), ENQUEUE, pd_trigger(key, dedup_key=dedup_key)).status_code)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _eventually(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _submits(monkeypatch):
    """Record every repeat tried through the group commit: (key, hit)."""
    tried = []
    real = group_commit.GroupCommitter.submit

    def spy(self, item):
        result = real(self, item)
        tried.append((item.dedup_key, result is not None))
        return result

    monkeypatch.setattr(group_commit.GroupCommitter, "submit", spy)
    return tried


def _chain_held(integration):
    """A connection holding the organization's ledger chain: a first trigger's transaction stops at
    its ledger append until it lets go."""
    holder = _another_connection()
    holder.execute(
        "SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK_NAMESPACE, integration.organization_id]
    )
    return holder


def _two_triggers_the_first_held(integration, key, dedup_key, tried) -> list[int]:
    """Two triggers of a new key: the first held at its ledger append until both have tried the
    group's repeat and the second has stayed waiting for 0.3 s. Their status codes."""
    answers = []
    holder = _chain_held(integration)
    try:
        first = _post_in_thread(key, dedup_key, answers)
        _eventually(lambda: (integration.organization_id, dedup_key) in first_triggers._writing)
        second = _post_in_thread(key, dedup_key, answers)
        _eventually(lambda: len(tried) == 2)
        time.sleep(0.3)
        assert second.is_alive()
    finally:
        holder.rollback()
        holder.close()
    first.join(20)
    second.join(20)
    return answers


def test_a_repeat_waits_for_the_first_trigger_and_is_then_a_one_statement_repeat(
    make_integration, monkeypatch
):
    integration, key = make_integration("pagerduty")
    repeats = _submits(monkeypatch)
    # Both try the repeat first (nothing is firing yet); the second then waits for the first
    # trigger instead of writing a second one.
    answers = _two_triggers_the_first_held(integration, key, "fresh", repeats)

    assert answers == [202, 202]
    assert repeats == [("fresh", False), ("fresh", False), ("fresh", True)]
    incident = Incident.objects.get(dedup_key="fresh")
    assert incident.alert_occurrences == 2
    assert Alert.objects.get(incident=incident).occurrences == 2
    assert first_triggers._writing == {}


def test_without_a_writer_nothing_waits(make_integration):
    integration, key = make_integration("pagerduty")
    started = time.monotonic()
    assert first_triggers.wait_for_writer(integration.organization_id, "nobody") is False
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="alone")).status_code == 202
    assert time.monotonic() - started < 5
    assert Incident.objects.filter(dedup_key="alone").count() == 1


def test_a_repeat_the_group_skipped_for_a_held_incident_waits_for_it_in_one_statement(
    make_integration, monkeypatch
):
    integration, key = make_integration("pagerduty")
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="held")).status_code == 202
    tried = _submits(monkeypatch)
    locked = []
    real_lock = Batch._lock_open
    monkeypatch.setattr(
        Batch, "_lock_open", lambda self, *a, **kw: locked.append(a) or real_lock(self, *a, **kw)
    )
    answers = []
    holder = _another_connection()
    holder.execute("SELECT id FROM incidents_incident WHERE dedup_key = 'held' FOR UPDATE")
    try:
        thread = _post_in_thread(key, "held", answers)
        _eventually(lambda: len(tried) == 1)  # the group's statement skipped the held incident
        time.sleep(0.3)
        assert thread.is_alive()  # and now waits for it, in one statement
    finally:
        holder.rollback()
        holder.close()
    thread.join(20)

    assert answers == [202]
    assert tried == [("held", False)]
    assert locked == []  # the full path gave up before it locked and counted the incident itself
    incident = Incident.objects.get(dedup_key="held")
    assert incident.alert_occurrences == 2
    assert Alert.objects.get(incident=incident).occurrences == 2
    assert RawPayload.objects.filter(integration=integration).count() == 2


def test_a_repeat_that_waited_for_another_processs_first_trigger_gives_its_transaction_up(
    make_integration, monkeypatch
):
    integration, key = make_integration("pagerduty")
    tried = _submits(monkeypatch)
    # Another process's first trigger: this process does not know it is being written.
    monkeypatch.setattr(first_triggers, "wait_for_writer", lambda *args: False)
    fired_in_transaction = []
    real_fire = Batch._fire_in
    monkeypatch.setattr(
        Batch, "_fire_in", lambda self, *a: fired_in_transaction.append(a) or real_fire(self, *a)
    )
    # Both miss (nothing is firing yet); the second's new incident's insert waits for the first's.
    answers = _two_triggers_the_first_held(integration, key, "elsewhere", tried)

    assert answers == [202, 202]
    assert tried == [("elsewhere", False), ("elsewhere", False)]  # the second, then alone: see above
    assert fired_in_transaction == []  # it did not count itself in the transaction that waited
    incident = Incident.objects.get(dedup_key="elsewhere")
    assert incident.alert_occurrences == 2
    assert Alert.objects.get(incident=incident).occurrences == 2
