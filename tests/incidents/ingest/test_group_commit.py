"""Group commit of repeated triggers (``incidents.ingest.group_commit``): each request is answered
only after the commit that holds it, a failing group answers each request with its own outcome and
loses nothing, and requests over HTTP share groups without losing or doubling a count."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import IntegrityError, connection, connections
from django.test import Client
from django.utils import timezone

from incidents.ingest import group_commit
from incidents.ingest.results import RawBody, Result
from incidents.models import Alert, Incident, RawPayload
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = pytest.mark.django_db(transaction=True)
ENQUEUE = "/v2/enqueue"


@pytest.fixture
def firing(make_integration):
    """A PagerDuty integration and an open incident whose alert ``disk`` is firing."""
    integration, key = make_integration("pagerduty")
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202
    return integration, key, Incident.objects.get(dedup_key="disk")


def _item(integration, key="disk", integration_id=None, body=b'{"event": "repeat"}'):
    return group_commit.RepeatItem(
        organization_id=integration.organization_id,
        integration_id=integration_id or integration.pk,
        dedup_key=key,
        status="firing",
        raw=RawBody(body=body, content_type="application/json"),
        payload_id=uuid.uuid4(),
        now=timezone.now(),
    )


def _another_connection() -> psycopg.Connection:
    """A connection of its own to the test database, with the parameters Django's connections use
    (a TCP address or a socket directory alike), but none of its cursor classes or adapters."""
    params = connection.get_connection_params()
    wanted = ("dbname", "user", "password", "host", "port")
    return psycopg.connect(**{k: v for k, v in params.items() if k in wanted}, autocommit=False)


def test_each_request_is_answered_only_after_its_commit(firing):
    integration, _key, incident = firing
    committer = group_commit.GroupCommitter(max_group=64)
    items = [_item(integration) for _ in range(6)]
    with _another_connection() as blocker:
        # Another transaction holds the alert: the group's statement must wait for it.
        blocker.execute(
            "SELECT id FROM incidents_alert WHERE incident_id = %s AND dedup_key = 'disk' FOR UPDATE",
            [incident.pk],
        )
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = [pool.submit(committer.submit, item) for item in items]
            time.sleep(0.5)
            assert not any(answer.done() for answer in answers)
            seen = blocker.execute(
                "SELECT count(*) FROM incidents_rawpayload WHERE id = ANY(%s)",
                [[i.payload_id for i in items]],
            ).fetchone()[0]
            assert seen == 0
            blocker.rollback()
            results = [answer.result(timeout=10) for answer in answers]
    for item, result in zip(items, results, strict=True):
        assert result.payload_id == item.payload_id
        assert [r.outcome for r in result.results] == [Result.DEDUPLICATED]
        assert result.results[0].incident_id == incident.pk
    incident.refresh_from_db()
    assert incident.alert_occurrences == 7
    assert Alert.objects.get(incident=incident, dedup_key="disk").occurrences == 7
    assert RawPayload.objects.filter(pk__in=[i.payload_id for i in items]).count() == 6


def test_a_failing_group_answers_each_request_and_loses_nothing(firing):
    integration, _key, incident = firing
    good = [_item(integration) for _ in range(3)]
    # An integration that does not exist: its raw payload breaks the statement for the whole group.
    bad = _item(integration, integration_id=integration.pk + 10_000)
    group = [good[0], bad, good[1], good[2]]
    group_commit.GroupCommitter(max_group=64).commit(group)

    with pytest.raises(IntegrityError):
        bad.future.result(timeout=1)
    for item in good:
        assert item.future.result(timeout=1).results[0].outcome == Result.DEDUPLICATED
    incident.refresh_from_db()
    assert incident.alert_occurrences == 4  # the first trigger and the three good repeats, once each
    assert set(
        RawPayload.objects.filter(pk__in=[i.payload_id for i in group]).values_list("pk", flat=True)
    ) == {i.payload_id for i in good}


def test_bodies_are_stored_exactly_whatever_they_hold(firing):
    # The group's columns go to the database as arrays: nothing in a body may be read as array syntax.
    integration, _key, _incident = firing
    bodies = [
        b'{"a": "quoted \\"x\\" and \\\\ back\\\\slashes"}',
        b"NULL",
        b"{1,2},{3}",
        b"",
        " \u00e9t\u00e9 \u2014 \U0001f525 ".encode(),
        b"\xff not utf-8",
    ]
    items = [_item(integration, body=body) for body in bodies]
    group_commit.GroupCommitter(max_group=64).commit(items)

    stored = dict(RawPayload.objects.filter(pk__in=[i.payload_id for i in items]).values_list("pk", "body"))
    assert [stored[item.payload_id] for item in items] == [item.raw.stored_fields()["body"] for item in items]
    assert stored[items[0].payload_id] == '{"a": "quoted \\"x\\" and \\\\ back\\\\slashes"}'


def test_a_held_incident_does_not_hold_up_the_group(firing, make_integration):
    integration, key, held = firing
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="cpu")).status_code == 202
    free = Incident.objects.get(dedup_key="cpu")
    waiting, passing = _item(integration), _item(integration, key="cpu")
    with _another_connection() as blocker:
        # A slow transaction (an escalation tick, say) holds one incident of the group.
        blocker.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [held.pk])
        started = time.monotonic()
        group_commit.GroupCommitter(max_group=64).commit([waiting, passing])
        took = time.monotonic() - started
        blocker.rollback()

    assert took < 2  # did not wait for the held incident's transaction
    assert waiting.future.result(timeout=1) is None  # its request takes the full path, on its own
    assert not RawPayload.objects.filter(pk=waiting.payload_id).exists()
    assert passing.future.result(timeout=1).results[0].incident_id == free.pk
    free.refresh_from_db()
    assert free.alert_occurrences == 2


def test_a_repeat_of_a_held_incident_waits_on_its_own_and_counts_once(firing):
    _integration, key, incident = firing
    with _another_connection() as blocker:
        blocker.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [incident.pk])
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(_post_closing, key, "disk")
            time.sleep(0.5)
            assert not answer.done()  # the full path waits for the incident, as every writer does
            blocker.rollback()
            assert answer.result(timeout=10) == 202
    incident.refresh_from_db()
    assert incident.alert_occurrences == 2
    assert Alert.objects.get(incident=incident, dedup_key="disk").occurrences == 2
    assert RawPayload.objects.count() == 2


def _post_closing(key: str, dedup_key: str) -> int:
    try:
        return post(Client(), ENQUEUE, pd_trigger(key, dedup_key=dedup_key)).status_code
    finally:
        connections.close_all()  # the test client leaves its thread's connection open


def test_a_key_without_a_firing_alert_comes_back_for_the_full_path(firing):
    integration, _key, _incident = firing
    fresh = _item(integration, key="never-seen")
    repeat = _item(integration)
    group_commit.GroupCommitter(max_group=64).commit([fresh, repeat])
    assert fresh.future.result(timeout=1) is None
    assert not RawPayload.objects.filter(pk=fresh.payload_id).exists()
    assert repeat.future.result(timeout=1).results[0].outcome == Result.DEDUPLICATED


def test_concurrent_requests_share_groups_and_count_exactly(firing):
    _integration, key, _incident = firing
    keys = ["disk", "disk", "cpu", "disk", "mem", "cpu"] * 8
    barrier = threading.Barrier(8)

    def send(chunk):
        client = Client()
        barrier.wait()
        try:
            return [post(client, ENQUEUE, pd_trigger(key, dedup_key=k)).status_code for k in chunk]
        finally:
            connections.close_all()  # the test client leaves each thread's connection open

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for chunk in pool.map(send, [keys[i::8] for i in range(8)]) for s in chunk]
    assert statuses == [202] * len(keys)
    for dedup_key in ("disk", "cpu", "mem"):
        sent = keys.count(dedup_key) + (1 if dedup_key == "disk" else 0)
        opened = Incident.objects.get(dedup_key=dedup_key)
        assert opened.alert_occurrences == sent
        assert Alert.objects.get(incident=opened).occurrences == sent
    assert Incident.objects.filter(dedup_key__in=["disk", "cpu", "mem"]).count() == 3
    assert RawPayload.objects.count() == len(keys) + 1


def test_a_repeated_trigger_over_http_goes_through_the_committer(firing, monkeypatch):
    """Outside a transaction of its caller, the endpoint hands a repeat to the process's committer
    (and a first trigger does not go there at all)."""
    _integration, key, incident = firing
    submitted = []
    real = group_commit.GroupCommitter.submit

    def spy(self, item):
        submitted.append(item.dedup_key)
        return real(self, item)

    monkeypatch.setattr(group_commit.GroupCommitter, "submit", spy)
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="fresh")).status_code == 202
    assert submitted == ["disk", "fresh"]  # "fresh" came back for the full path
    incident.refresh_from_db()
    assert incident.alert_occurrences == 2
    assert Incident.objects.filter(dedup_key="fresh").count() == 1


def test_a_new_key_is_answered_before_the_group_commits(firing):
    # Its request takes the full path either way: it learns so before the group's write, not after
    # its commit (under a storm a commit waits for a slow WAL flush).
    integration, _key, incident = firing
    repeat, new = _item(integration), _item(integration, key="brand-new")

    def commit():
        try:
            group_commit.GroupCommitter(max_group=64).commit([repeat, new])
        finally:
            connections.close_all()

    with _another_connection() as blocker:
        # Another transaction holds the firing alert: the group's write must wait for it.
        blocker.execute(
            "SELECT id FROM incidents_alert WHERE incident_id = %s AND dedup_key = 'disk' FOR UPDATE",
            [incident.pk],
        )
        worker = threading.Thread(target=commit)
        worker.start()
        assert new.future.result(timeout=10) is None
        time.sleep(0.2)
        assert not repeat.future.done()
        blocker.rollback()
        worker.join(timeout=10)
    assert repeat.future.result(timeout=1).results[0].outcome == Result.DEDUPLICATED
    assert not RawPayload.objects.filter(pk=new.payload_id).exists()  # the full path stores it
    incident.refresh_from_db()
    assert incident.alert_occurrences == 2
