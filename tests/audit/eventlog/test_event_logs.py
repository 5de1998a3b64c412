"""The event logs behave the same from either store: what ingestion, delivery and monitoring write
is read back by the pages and the API, a rolled-back write leaves nothing, a retried attempt is
stored once, and retention removes exactly what is past its window."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from incidents.eventlogs import RAW_PAYLOADS
from incidents.ingest.services import integration_create
from incidents.models import Alert, RawPayload
from monitoring.eventlogs import CHECK_RESULTS
from monitoring.models import CheckResult, Rollup
from monitoring.probes.base import ProbeResult
from monitoring.rollups import roll_up
from monitoring.services import monitor_create
from monitoring.services.results import record_result
from notifications.eventlogs import NOTIFICATION_ATTEMPTS
from notifications.models import AttemptOutcome, Notification, NotificationAttempt, NotificationStatus
from opsplatform.core import mongo
from opsplatform.core.actors import Actor
from tests.incidents.factories import IncidentFactory, ServiceFactory
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.retention import keep_days, purge

pytestmark = pytest.mark.django_db


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def in_postgres(model) -> int:
    return model.objects.count()


def in_mongo(collection: str) -> int:
    return mongo.database()[collection].count_documents({})


@pytest.fixture
def pd(org):
    service = ServiceFactory(organization=org, name="Checkout", slug="checkout")
    issued = integration_create(
        actor=Actor.system("test", organization=org), name="PagerDuty", kind="pagerduty", service=service
    )
    return issued.integration, issued.key


@pytest.fixture
def monitor(actor_as):
    return monitor_create(
        actor=actor_as("manager"),
        name="Checkout",
        kind="http",
        target="https://a.example.com/",
        interval_seconds=30,
    )


def test_ingested_payloads_are_read_back_by_the_api_and_the_pages(
    backend, committed, pd, client, api_as, client_as
):
    integration, key = pd
    for n in range(3):
        with committed():
            assert post(client, "/v2/enqueue", pd_trigger(key, dedup_key=f"disk-{n}")).status_code == 202

    api = api_as("operator")
    first = api.get(f"/api/v1/integrations/{integration.pk}/payloads/?page_size=2").json()
    assert ["disk-2" in p["body"] for p in first["results"]] == [True, False]
    assert "disk-1" in first["results"][1]["body"]
    assert first["results"][0]["result"][0]["outcome"] == "created"
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and "disk-0" in second["results"][0]["body"] and second["next"] is None
    bad = api.get(f"/api/v1/integrations/{integration.pk}/payloads/?cursor=bm90LWEtY3Vyc29y")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"

    viewer = client_as("manager")
    events = viewer.get(f"/integrations/{integration.pk}/events/")
    assert [str(p.id) for p in events.context["page"].object_list] == [
        p["id"] for p in first["results"] + second["results"]
    ]
    sent = viewer.get(f"/integrations/{integration.pk}/", {"sent": first["results"][0]["id"]})
    assert str(sent.context["sent"].id) == first["results"][0]["id"]
    # Every alert still points at the payload that made it, wherever the payload lives.
    for alert in Alert.objects.filter(organization=integration.organization):
        assert RAW_PAYLOADS.get({"id": alert.raw_payload_id}) is not None
    assert in_postgres(RawPayload) == (3 if backend == "postgres" else 0)
    if backend == "mongo":
        assert in_mongo("raw_payloads") == 3


def test_a_rolled_back_write_leaves_nothing(backend, committed, monitor):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        CHECK_RESULTS.append(
            [CheckResult(monitor=monitor, checked_at=timezone.now(), outcome="up")],
            organization_id=monitor.organization_id,
        )
        raise RuntimeError("the request failed")
    assert CHECK_RESULTS.find({"monitor_id": monitor.pk}) == []


def test_check_results_page_api_sparkline_and_rollups(backend, committed, monitor, api_as, client_as):
    for i in range(5):
        with committed():
            record_result(monitor.pk, ProbeResult("down" if i == 0 else "up", f"check {i}", float(i)))

    api = api_as("viewer")
    first = api.get(f"/api/v1/monitors/{monitor.pk}/results/?page_size=2").json()
    assert [r["message"] for r in first["results"]] == ["check 4", "check 3"]
    second = api.get(first["next"]).json()
    assert [r["message"] for r in second["results"]] == ["check 2", "check 1"]
    page = client_as("viewer").get(f"/monitors/{monitor.pk}/")
    assert [r.message for r in page.context["results"]] == [f"check {i}" for i in range(4, -1, -1)]

    roll_up(now=timezone.now() + timedelta(minutes=1))
    minute = Rollup.objects.get(monitor=monitor, period="minute")
    assert (minute.checks, minute.failures) == (5, 1)
    assert minute.latency_p50 == pytest.approx(2.0) and minute.latency_p95 == pytest.approx(3.8)
    assert in_postgres(CheckResult) == (5 if backend == "postgres" else 0)


def test_attempts_are_stored_once_and_shown_with_their_notification(
    backend, committed, org, api_as, client_as
):
    incident = IncidentFactory(organization=org)
    row = Notification.objects.create(
        organization=org,
        incident=incident,
        idempotency_key="evlog-1",
        medium="webhook",
        destination="hooks.example",
        status=NotificationStatus.DEAD,
        attempts=2,
    )

    def attempt(number, outcome=AttemptOutcome.FAILED):
        return NotificationAttempt(
            organization_id=org.pk,
            notification=row,
            number=number,
            started_at=timezone.now(),
            outcome=outcome,
            status_code=503,
            error=f"503 on attempt {number}",
        )

    with committed():
        NOTIFICATION_ATTEMPTS.append([attempt(1), attempt(2)])
    with committed():
        NOTIFICATION_ATTEMPTS.append([attempt(2)])  # a retried batch after a crash

    shown = api_as("viewer").get(f"/api/v1/notifications/{row.pk}/").json()
    assert [(a["number"], a["status_code"]) for a in shown["attempt_log"]] == [(1, 503), (2, 503)]
    listed = api_as("viewer").get("/api/v1/notifications/").json()["results"]
    assert [a["number"] for a in listed[0]["attempt_log"]] == [1, 2]
    html = client_as("viewer").get("/oncall/deliveries/").content.decode()
    assert "2 attempts failed, last error: 503 on attempt 2" in html


def test_retention_removes_exactly_what_is_past_the_window(backend, committed, pd, other_org, settings):
    integration, _ = pd
    keep_days(settings, "raw_payloads", 30)
    other = integration_create(actor=Actor.system("test", organization=other_org), name="x", kind="pagerduty")
    made = {}
    with committed():
        for name, owner, days in [
            ("old", integration, 8),
            ("new", integration, 6),
            ("foreign", other.integration, 9),
        ]:
            payload = RawPayload(
                organization_id=owner.organization_id, integration=owner, received_at=ago(days), body=name
            )
            RAW_PAYLOADS.append([payload])
            made[name] = payload.pk

    # Shortened after the writes: in MongoDB their TTL still says 30 days, so the runner removes them.
    keep_days(settings, "raw_payloads", 7)
    assert purge("raw_payloads", dry_run=True) == 2
    assert purge("raw_payloads") == 2

    left = {p.body for p in RAW_PAYLOADS.find({"received_at__gte": ago(365)}, limit=None)}
    assert left == {"new"}
    if backend == "mongo":
        indexes = mongo.database()["raw_payloads"].index_information()
        assert indexes["expire_at_ttl"]["expireAfterSeconds"] == 0
        kept = mongo.database()["raw_payloads"].find_one({"_id": str(made["new"])})
        assert kept["expire_at"] - kept["received_at"] == timedelta(days=30)
