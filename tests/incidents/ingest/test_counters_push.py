"""Integration counters gathered in each process and sent to Redis by a thread of their own
(``incidents.ingest.counters``): no request and no group commit waits for Redis, nothing counted is
lost while Redis is away, and the pages read the counts not sent yet too."""

import threading
import time
import uuid

import pytest
import redis
from django.test import Client
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from incidents.ingest import counters, group_commit
from incidents.ingest.results import RawBody
from incidents.models import Incident
from opsplatform.core.kicks import redis_client
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.servers import free_port, holding_proxy, silent_server

pytestmark = pytest.mark.django_db(transaction=True)
ENQUEUE = "/v2/enqueue"


@pytest.fixture
def unsent(monkeypatch, settings):
    """This test's own unsent counts (another test's thread may still hold the process's)."""
    settings.INGEST_COUNTERS_PUSH_SECONDS = 0.05
    monkeypatch.setattr(counters, "RETRY_SECONDS", 0.1)
    holder = counters.UnsentCounts()
    monkeypatch.setattr(counters, "unsent", lambda: holder)
    return holder


@pytest.fixture
def silent_redis():
    """A Redis that takes connections and never answers: a Redis that hangs."""
    with silent_server() as (server, _accepted):
        port = server.getsockname()[1]
        yield redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, retry=Retry(NoBackoff(), 0))


def _refusing_redis() -> redis.Redis:
    """A client for a loopback port nobody listens on: every command is refused at once."""
    return redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )


def _stored(integration_id: int) -> dict:
    """What Redis holds for the integration, read past any client a test put in the counters' way."""
    return redis_client().hgetall(counters._hash_key(integration_id))


def _until(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_counts_reach_redis_with_no_one_waiting_for_it(make_integration, unsent):
    integration, key = make_integration("pagerduty")
    client = Client()
    assert post(client, ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202
    assert post(client, ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202

    # Nobody calls push or flush: the process's thread sends them.
    assert _until(lambda: _stored(integration.pk).get(b"received") == b"2")
    assert _stored(integration.pk)[b"deduplicated"] == b"1"
    assert counters.pending(integration.pk)["received"] == 2  # counted once, not here and there


def test_counts_wait_in_the_process_while_redis_is_away(make_integration, unsent, monkeypatch):
    integration, key = make_integration("pagerduty")
    monkeypatch.setattr(counters, "client", _refusing_redis)
    client = Client()
    for _ in range(3):
        assert post(client, ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202
    time.sleep(0.3)  # several pushes refused meanwhile

    assert counters.pending(integration.pk)["received"] == 3  # the page still shows them
    assert counters.flush() == 0
    monkeypatch.setattr(counters, "client", redis_client)  # Redis is back

    # Sent by the process's thread (the flush above, refused too, put them back as they were).
    assert _until(lambda: _stored(integration.pk).get(b"received") == b"3")
    assert counters.flush() >= 1
    integration.refresh_from_db()
    assert (integration.received_count, integration.deduplicated_count) == (3, 2)
    assert integration.last_received_at is not None


def test_a_group_commit_does_not_wait_for_redis(make_integration, unsent, monkeypatch, silent_redis):
    integration, key = make_integration("pagerduty")
    assert post(Client(), ENQUEUE, pd_trigger(key, dedup_key="disk")).status_code == 202
    incident = Incident.objects.get(dedup_key="disk")
    monkeypatch.setattr(counters, "client", lambda: silent_redis)
    items = [
        group_commit.RepeatItem(
            organization_id=integration.organization_id,
            integration_id=integration.pk,
            dedup_key="disk",
            status="firing",
            raw=RawBody(body=b'{"event": "repeat"}', content_type="application/json"),
            payload_id=uuid.uuid4(),
            now=timezone.now(),
        )
        for _ in range(4)
    ]

    started = time.monotonic()
    group_commit.GroupCommitter(max_group=64).commit(items)
    # Counting in Redis inside the commit would hang on the silent server for its 5 s timeout.
    assert time.monotonic() - started < 2.5
    assert [item.future.result().results[0].incident_id for item in items] == [incident.pk] * 4

    monkeypatch.setattr(counters, "client", redis_client)
    # The first trigger and the four repeats, once the send stuck on the silent server gave up.
    assert _until(lambda: _stored(integration.pk).get(b"received") == b"5")


def test_a_page_reading_during_a_send_counts_each_event_once(unsent, settings, monkeypatch):
    """While a send is on its way, its counts are neither in the process nor yet in Redis: a page
    reading then must wait for it, not show them missing (nor, after, twice)."""
    settings.INGEST_COUNTERS_PUSH_SECONDS = 5  # this test sends itself
    integration_id = 2_000_000_000 + uuid.uuid4().int % 100_000_000
    # The test Redis may listen on a unix socket (the embedded one) or on a port.
    kwargs = redis_client().connection_pool.connection_kwargs
    upstream = kwargs["path"] if "path" in kwargs else (kwargs["host"], kwargs["port"])
    with holding_proxy(upstream) as (proxy_port, arrived, release):
        slow = redis.Redis(
            host="127.0.0.1",
            port=proxy_port,
            db=kwargs.get("db", 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            socket_timeout=10,
        )
        monkeypatch.setattr(counters, "client", lambda: slow)
        unsent.add(integration_id, counters._Sums(received=3, deduplicated=2, last=time.time()))
        sending = threading.Thread(target=unsent.push)
        sending.start()
        assert arrived.wait(5), "the send did not reach the proxy"

        seen: list[dict] = []
        reading = threading.Thread(target=lambda: seen.append(counters.pending(integration_id)))
        reading.start()
        reading.join(0.5)
        assert reading.is_alive() and not seen  # it waits for the send in flight
        release.set()
        sending.join(5)
        reading.join(5)

    assert [(s["received"], s["deduplicated"]) for s in seen] == [(3, 2)]
    assert _stored(integration_id)[b"received"] == b"3"
    redis_client().delete(counters._hash_key(integration_id))
