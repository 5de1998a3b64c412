"""Keys (rotation with overlap, bearer header, never stored in clear), tenant isolation, body size,
per-integration throttling, counters through Redis and their flush, raw payload retention."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.ingest import counters
from incidents.ingest.services import integration_rotate_key, integration_update
from incidents.ingest.tasks import check_heartbeats
from incidents.ingest.throttling import throttle_wait
from incidents.models import Alert, Incident, Integration, RawPayload
from opsplatform.core.actors import Actor
from tests.incidents.ingest.payloads import (
    alertmanager,
    am_alert,
    am_url,
    pd_trigger,
    post,
)
from tests.retention import keep_days, purge

pytestmark = pytest.mark.django_db
ENQUEUE = "/v2/enqueue"


@pytest.fixture
def pd(make_integration):
    return make_integration("pagerduty")


# --- keys ----------------------------------------------------------------------------------------


def test_keys_are_stored_as_digests_only(pd):
    integration, key = pd
    integration.refresh_from_db()
    stored = json.dumps(list(Integration.objects.filter(pk=integration.pk).values()), default=str)
    assert key not in stored
    assert integration.key_prefix == key[:10]
    ledger = json.dumps(list(LedgerEntry.objects.values("data")), default=str)
    assert key not in ledger


def test_rotation_keeps_the_old_key_working_for_the_overlap(client, pd, actor_as):
    integration, old = pd
    issued = integration_rotate_key(actor=actor_as("manager"), integration=integration, overlap_hours=2)

    assert issued.key != old
    assert post(client, ENQUEUE, pd_trigger(old, dedup_key="a")).status_code == 202
    assert post(client, ENQUEUE, pd_trigger(issued.key, dedup_key="b")).status_code == 202

    # An hour ago, not a second: the lookup compares with now() of the test's transaction, which
    # began before this line, by more than a second on a busy machine.
    Integration.objects.filter(pk=integration.pk).update(
        previous_key_expires_at=timezone.now() - timedelta(hours=1)
    )
    assert post(client, ENQUEUE, pd_trigger(old, dedup_key="c")).status_code == 404
    assert post(client, ENQUEUE, pd_trigger(issued.key, dedup_key="d")).status_code == 202
    assert LedgerEntry.objects.get(verb="integration.key_rotated").data["prefix"] == issued.key[:10]


def test_rotation_without_overlap_stops_the_old_key_at_once(client, pd, actor_as):
    integration, old = pd
    issued = integration_rotate_key(actor=actor_as("manager"), integration=integration, overlap_hours=0)

    assert post(client, ENQUEUE, pd_trigger(old)).status_code == 404
    assert post(client, ENQUEUE, pd_trigger(issued.key)).status_code == 202


def test_only_managers_rotate(pd, actor_as):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        integration_rotate_key(actor=actor_as("operator"), integration=pd[0])


def test_another_organizations_key_never_touches_this_one(make_integration, client, other_org, org):
    _, ours = make_integration("alertmanager")
    _, theirs = make_integration("alertmanager", organization=other_org)
    post(client, am_url(ours), alertmanager(am_alert("aaaa000000000001")))

    post(client, am_url(theirs), alertmanager(am_alert("aaaa000000000001", status="resolved")))
    post(client, am_url(theirs), alertmanager(am_alert("aaaa000000000002")))

    mine = Incident.objects.get(organization=org)
    assert mine.status == "triggered" and mine.alerts_total == 1
    assert Alert.objects.filter(organization=org).count() == 1
    assert Incident.objects.filter(organization=other_org).count() == 1
    assert (
        not LedgerEntry.objects.filter(organization=org, actor_type="integration")
        .exclude(verb="incident.triggered")
        .exists()
    )


# --- size, throttling ----------------------------------------------------------------------------


def test_oversized_bodies_are_413_before_anything_is_read(client, pd, settings):
    settings.API_MAX_BODY_BYTES = 2048
    _, key = pd
    body = pd_trigger(key, custom_details={"blob": "x" * 4096})

    response = post(client, ENQUEUE, body)
    am_response = post(client, am_url("opi_" + "k" * 30), {"alerts": [], "x": "y" * 4096})

    assert response.status_code == 413 and am_response.status_code == 413
    assert not RawPayload.objects.exists()


def test_a_body_longer_than_declared_is_still_bounded(rf, pd, settings):
    from incidents.ingest.views import pagerduty_enqueue

    settings.API_MAX_BODY_BYTES = 2048
    _, key = pd
    body = json.dumps(pd_trigger(key, custom_details={"blob": "x" * 4096})).encode()
    request = rf.post(ENQUEUE, body, content_type="application/json")
    request.META.pop("CONTENT_LENGTH")  # a chunked body declares no length

    response = pagerduty_enqueue(request)

    assert response.status_code == 413


def test_throttling_answers_429_with_retry_after(client, make_integration):
    _, key = make_integration("pagerduty", throttle_rate="3/min")
    statuses = [post(client, ENQUEUE, pd_trigger(key, dedup_key=f"k{i}")).status_code for i in range(5)]

    assert statuses == [202, 202, 202, 429, 429]
    response = post(client, ENQUEUE, pd_trigger(key, dedup_key="late"))
    assert int(response["Retry-After"]) >= 1
    assert response.json()["status"] == "throttle event"
    assert Incident.objects.count() == 3


def test_throttled_alertmanager_gets_a_problem(client, make_integration):
    _, key = make_integration("alertmanager", throttle_rate="1/min")
    post(client, am_url(key), alertmanager())

    response = post(client, am_url(key), alertmanager())

    assert response.status_code == 429 and response["Content-Type"] == "application/problem+json"
    assert "Retry-After" in response


def test_throttle_is_per_integration(make_integration):
    one, _ = make_integration("pagerduty", name="one", throttle_rate="1/min")
    two, _ = make_integration("pagerduty", name="two", throttle_rate="1/min")
    now = 1_700_000_010.0

    assert throttle_wait(one, now=now) is None
    assert throttle_wait(one, now=now) is not None
    assert throttle_wait(two, now=now) is None


def test_the_default_rate_is_generous(make_integration, settings):
    integration, _ = make_integration("pagerduty")
    assert all(throttle_wait(integration, now=1_700_000_100.0) is None for _ in range(200))


# --- counters ------------------------------------------------------------------------------------


def test_counters_go_through_redis_and_a_flush(client, pd, django_capture_on_commit_callbacks):
    integration, key = pd
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ENQUEUE, pd_trigger(key))
        post(client, ENQUEUE, pd_trigger(key))
        post(client, ENQUEUE, pd_trigger(key, dedup_key="other"))

    integration.refresh_from_db()
    assert integration.received_count == 0  # nothing written to the row by the requests
    assert counters.pending(integration.pk)["received"] == 3

    assert counters.flush() >= 1

    integration.refresh_from_db()
    assert (integration.received_count, integration.deduplicated_count, integration.dropped_count) == (
        3,
        1,
        0,
    )
    assert integration.last_received_at is not None
    assert counters.pending(integration.pk)["received"] == 0
    assert counters.flush() == 0


# --- retention -----------------------------------------------------------------------------------


def test_raw_payloads_expire(client, pd, settings):
    keep_days(settings, "raw_payloads", 3)
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key, dedup_key="old"))
    post(client, ENQUEUE, pd_trigger(key, dedup_key="new"))
    old = RawPayload.objects.order_by("received_at").first()
    RawPayload.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=4))

    assert purge("raw_payloads") == 1

    assert RawPayload.objects.count() == 1
    # The alert keeps its (now dangling) pointer; nothing else changes.
    assert Alert.objects.get(dedup_key="old").raw_payload_id == old.pk


def test_ticks_are_safe_to_run_twice(client, pd):
    assert check_heartbeats() == 0 and check_heartbeats() == 0
    _, key = pd
    post(client, ENQUEUE, pd_trigger(key, dedup_key="old"))
    post(client, ENQUEUE, pd_trigger(key, dedup_key="recent"))
    old_payload = Alert.objects.get(dedup_key="old").raw_payload_id
    RawPayload.objects.filter(pk=old_payload).update(received_at=timezone.now() - timedelta(days=30))

    assert purge("raw_payloads") == 1 and purge("raw_payloads") == 0
    assert list(RawPayload.objects.values_list("pk", flat=True)) == [
        Alert.objects.get(dedup_key="recent").raw_payload_id
    ]


def test_disabling_takes_effect_on_the_next_request(client, pd, org):
    integration, key = pd
    integration_update(actor=Actor.system("t", organization=org), integration=integration, enabled=False)
    assert post(client, ENQUEUE, pd_trigger(key)).status_code == 404
