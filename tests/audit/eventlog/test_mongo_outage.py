"""A MongoDB outage during ingestion blocks nothing and loses nothing: the entries wait in the
PostgreSQL outbox and arrive once MongoDB answers again. (MongoDB: the stand-in, or a real server
when ``MONGO_URL`` is set; the error is injected at its ``insert_many``.)"""

import time

import pytest
from pymongo.errors import AutoReconnect

from audit.eventlog import shipping
from audit.models import EventLogOutbox
from audit.tasks import eventlog_drain
from incidents.eventlogs import RAW_PAYLOADS
from incidents.ingest.services import integration_create
from incidents.models import Alert, RawPayload
from opsplatform.core import mongo
from opsplatform.core.actors import Actor
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import pd_trigger, post

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("backend", ["mongo"], indirect=True)]


@pytest.fixture
def mongo_only(backend):
    assert backend == "mongo"


@pytest.fixture
def outage(mongo_only, monkeypatch):
    collection_type = type(mongo.database()["raw_payloads"])
    working = collection_type.insert_many
    state = {"down": True, "refused": 0}

    def insert_many(self, documents, *args, **kwargs):
        if state["down"]:
            state["refused"] += 1
            raise AutoReconnect("connection refused")
        return working(self, documents, *args, **kwargs)

    monkeypatch.setattr(collection_type, "insert_many", insert_many)
    return state


@pytest.fixture
def pd(org):
    service = ServiceFactory(organization=org, name="Checkout", slug="checkout")
    issued = integration_create(
        actor=Actor.system("test", organization=org), name="PagerDuty", kind="pagerduty", service=service
    )
    return issued.integration, issued.key


def outboxed() -> int:
    return sum(EventLogOutbox.objects.values_list("count", flat=True))


def test_no_payload_is_lost_while_mongodb_is_down(outage, committed, pd, client, api_as):
    integration, key = pd
    for n in range(5):
        with committed():
            assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key=f"down-{n}")).status_code == 202

    # Ingestion went on (the incidents are in PostgreSQL); the payloads wait in the outbox.
    assert Alert.objects.filter(organization=integration.organization).count() == 5
    assert RAW_PAYLOADS.count({}) == 0 and outboxed() == 5
    assert RawPayload.objects.count() == 0
    # Once MongoDB failed, later requests went straight to the outbox instead of trying again.
    assert outage["refused"] == 3  # the first batch: one try and two retries

    assert eventlog_drain() == 0  # still down: nothing moves, nothing is dropped
    assert outboxed() == 5

    outage["down"] = False
    assert eventlog_drain() == 5
    assert outboxed() == 0
    bodies = [
        p["body"]
        for p in api_as("operator").get(f"/api/v1/integrations/{integration.pk}/payloads/").json()["results"]
    ]
    assert [n for n in range(5) if any(f"down-{n}" in b for b in bodies)] == [0, 1, 2, 3, 4]
    for alert in Alert.objects.filter(organization=integration.organization):
        assert RAW_PAYLOADS.get({"id": alert.raw_payload_id}) is not None
    assert eventlog_drain() == 0  # drained once: a second run finds nothing and duplicates nothing
    assert RAW_PAYLOADS.count({}) == 5


def test_a_full_buffer_spills_to_the_outbox(mongo_only, committed, pd, settings):
    integration, _ = pd
    settings.EVENT_LOG_SHIP_INLINE = False
    settings.EVENT_LOG_SHIP_SECONDS = 3600  # the shipping thread stays asleep; the test flushes
    settings.EVENT_LOG_SHIP_BATCH = settings.EVENT_LOG_BUFFER_SIZE = 5

    def payloads(count):
        return [
            RawPayload(organization_id=integration.organization_id, integration=integration, body=str(n))
            for n in range(count)
        ]

    with committed():
        RAW_PAYLOADS.append(payloads(3))
    with committed():
        RAW_PAYLOADS.append(payloads(3))  # 3 + 3 > 5: these go to the outbox

    assert shipping.shipper.pending == 3 and outboxed() == 3
    shipping.shipper.flush()
    assert RAW_PAYLOADS.count({}) == 3
    assert eventlog_drain() == 3
    assert RAW_PAYLOADS.count({}) == 6 and outboxed() == 0


def test_the_shipping_thread_writes_without_being_asked(mongo_only, committed, pd, settings):
    integration, _ = pd
    settings.EVENT_LOG_SHIP_INLINE = False
    settings.EVENT_LOG_SHIP_SECONDS = 0.05
    with committed():
        RAW_PAYLOADS.append(
            [RawPayload(organization_id=integration.organization_id, integration=integration, body="async")]
        )
    deadline = time.monotonic() + 10
    while RAW_PAYLOADS.count({}) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.body for p in RAW_PAYLOADS.find({})] == ["async"]
    assert shipping.shipper.pending == 0 and outboxed() == 0
