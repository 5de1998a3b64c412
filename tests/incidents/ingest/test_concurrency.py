"""Ingestion under concurrency, on real PostgreSQL with committed transactions: identical triggers all
at once make one incident and count every one; overlapping batches in different orders neither
deadlock into errors nor double anything."""

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from audit.models import LedgerEntry
from incidents.ingest.services import integration_create
from incidents.models import Alert, Incident, RawPayload
from opsplatform.core.actors import Actor
from tests.accounts.factories import OrganizationFactory
from tests.incidents.factories import ServiceFactory
from tests.incidents.ingest.payloads import alertmanager, am_alert, am_url, pd_trigger

TRIGGERS = 200


def _connection_budget() -> int:
    """How many connections these threads may hold at once on a PostgreSQL shared with others."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity")
        free = cursor.fetchone()[0]
    return max(8, min(TRIGGERS, free - 20))


def _run_together(requests) -> list[int]:
    """Start every request at the same instant, one thread each; return their status codes."""
    start = threading.Barrier(len(requests))
    in_flight = threading.BoundedSemaphore(_connection_budget())

    def one(send):
        start.wait()
        with in_flight:
            try:
                return send(Client())
            finally:
                connections.close_all()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


@pytest.fixture
def org_with_service(transactional_db):
    org = OrganizationFactory(name="Concurrent", slug="concurrent")
    return org, ServiceFactory(organization=org, name="Checkout", slug="checkout")


def test_identical_triggers_at_once_make_one_incident_and_count_every_one(org_with_service):
    org, service = org_with_service
    issued = integration_create(
        actor=Actor.system("test", organization=org),
        name="PD",
        kind="pagerduty",
        service=service,
        throttle_rate="100000/min",
    )
    body = json.dumps(pd_trigger(issued.key, dedup_key="checkout-5xx"))

    statuses = _run_together(
        [lambda c: c.post("/v2/enqueue", body, content_type="application/json").status_code] * TRIGGERS
    )

    assert statuses == [202] * TRIGGERS
    incident = Incident.objects.get(organization=org)
    assert incident.dedup_key == "checkout-5xx"
    assert incident.alert_occurrences == TRIGGERS and incident.alerts_total == 1
    alert = Alert.objects.get(organization=org)
    assert alert.occurrences == TRIGGERS and alert.incident_id == incident.pk
    assert LedgerEntry.objects.filter(organization=org, verb="incident.triggered").count() == 1
    assert RawPayload.objects.filter(organization=org).count() == TRIGGERS


def test_overlapping_batches_in_any_order_keep_one_incident_per_alert(org_with_service):
    org, service = org_with_service
    issued = integration_create(
        actor=Actor.system("test", organization=org),
        name="AM",
        kind="alertmanager",
        service=service,
        grouping=False,
        throttle_rate="100000/min",
    )
    fingerprints = [f"{i:016x}" for i in range(12)]
    rng = random.Random(3)
    bodies = []
    for _ in range(30):
        chosen = rng.sample(fingerprints, 8)
        bodies.append(json.dumps(alertmanager(*(am_alert(fp) for fp in chosen))))

    statuses = _run_together(
        [
            lambda c, b=b: c.post(am_url(issued.key), b, content_type="application/json").status_code
            for b in bodies
        ]
    )

    assert statuses == [202] * len(bodies)
    sent = {fp for body in bodies for fp in (a["fingerprint"] for a in json.loads(body)["alerts"])}
    incidents = Incident.objects.filter(organization=org)
    assert sorted(incidents.values_list("dedup_key", flat=True)) == sorted(sent)
    assert Alert.objects.filter(organization=org).count() == len(sent)
    # Re-sends of one firing episode are not occurrences: each alert counted once.
    assert set(incidents.values_list("alert_occurrences", flat=True)) == {1}
