"""``POST /api/v1/integrations/<key>/alertmanager/``: Alertmanager webhook v4, grouping, re-sends,
per-alert resolve, out-of-order delivery, truncation, unicode and every bad-input class."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.ingest.formats.common import parse_timestamp
from incidents.models import Alert, AlertStatus, Incident, RawPayload, Severity, Status
from tests.incidents.ingest.payloads import (
    AM_GROUP_KEY,
    alertmanager,
    am_alert,
    am_url,
    post,
)

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def am(make_integration):
    return make_integration("alertmanager")


def _snapshot():
    incidents = list(Incident.objects.order_by("pk").values())
    alerts = list(Alert.objects.order_by("pk").values())
    return incidents, alerts


def test_a_firing_group_opens_one_incident_with_its_alerts(client, am, service, team):
    integration, key = am
    payload = alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002"))

    response = post(client, am_url(key), payload)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["outcomes"]["created"] == 1 and body["outcomes"]["attached"] == 1
    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED
    assert incident.service == service and incident.team == team
    assert incident.severity == Severity.SEV1  # label severity=critical
    assert incident.title == "Checkout error rate above 5% on checkout-7f9c6d-x2k4p"
    assert incident.group_key == payload["groupKey"]
    assert incident.integration == integration and incident.source == "alertmanager"
    assert (incident.alerts_total, incident.alerts_firing, incident.alert_occurrences) == (2, 2, 2)
    assert incident.next_escalation_at is not None
    alerts = list(incident.alerts.order_by("dedup_key"))
    assert [a.dedup_key for a in alerts] == ["aaaa000000000001", "aaaa000000000002"]
    assert alerts[0].fingerprint == "aaaa000000000001"
    assert alerts[0].labels["namespace"] == "payments"
    assert {link["text"] for link in alerts[0].links} >= {"Source", "Runbook", "Alertmanager"}
    assert alerts[0].raw_payload_id == RawPayload.objects.get().pk
    entry = LedgerEntry.objects.get(verb="incident.triggered", target_id=str(incident.pk))
    assert entry.actor_type == "integration" and entry.actor_id == str(integration.pk)
    assert entry.data["alerts"] == 2


def test_resent_group_changes_nothing(client, am):
    _, key = am
    payload = alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002"))
    post(client, am_url(key), payload)
    before = _snapshot()
    ledger_before = LedgerEntry.objects.count()

    for _ in range(3):  # group_interval / repeat_interval re-sends
        response = post(client, am_url(key), payload)
        assert response.status_code == 202
        assert response.json()["outcomes"]["deduplicated"] == 2

    after = _snapshot()
    # Everything but the pointer to the latest raw payload stays as it was.
    for rows in (before[1], after[1]):
        for row in rows:
            row.pop("raw_payload_id")
    assert after == before
    assert LedgerEntry.objects.count() == ledger_before
    assert RawPayload.objects.count() == 4  # every accepted request is kept


def test_each_alert_resolves_on_its_own_and_the_last_one_resolves_the_incident(client, am):
    _, key = am
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002")))
    incident = Incident.objects.get()

    post(
        client,
        am_url(key),
        alertmanager(am_alert("aaaa000000000001", status="resolved"), am_alert("aaaa000000000002")),
    )
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert (incident.alerts_firing, incident.alerts_total) == (1, 2)
    assert Alert.objects.get(dedup_key="aaaa000000000001").status == AlertStatus.RESOLVED
    assert (
        LedgerEntry.objects.filter(verb="incident.alerts_resolved", target_id=str(incident.pk)).count() == 1
    )

    post(client, am_url(key), alertmanager(am_alert("aaaa000000000002", status="resolved")))
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolved_at is not None and incident.next_escalation_at is None
    assert incident.alerts_firing == 0
    assert not Alert.objects.filter(active=True).exists()
    entry = LedgerEntry.objects.get(verb="incident.resolved", target_id=str(incident.pk))
    assert entry.actor_type == "integration"


def test_auto_resolve_can_be_turned_off(client, make_integration):
    _, key = make_integration("alertmanager", auto_resolve=False)
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", status="resolved")))

    incident = Incident.objects.get()
    assert incident.status == Status.TRIGGERED and incident.alerts_firing == 0


def test_a_new_episode_after_resolve_opens_a_new_incident(client, am):
    _, key = am
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", status="resolved")))

    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", starts="2026-03-14T11:00:00Z")))

    assert Incident.objects.filter(status=Status.RESOLVED).count() == 1
    assert Incident.objects.filter(status=Status.TRIGGERED).count() == 1


def test_resolved_before_fired_opens_nothing_for_that_episode(client, am):
    """Delivery out of order: the resolve of an episode arrives first, its firing later."""
    _, key = am
    response = post(client, am_url(key), alertmanager(am_alert("bbbb000000000001", status="resolved")))
    assert response.status_code == 202
    assert response.json()["outcomes"]["ignored"] == 1
    assert not Incident.objects.exists()

    late = post(client, am_url(key), alertmanager(am_alert("bbbb000000000001")))

    assert late.status_code == 202
    assert not Incident.objects.exists()
    record = Alert.objects.get(dedup_key="bbbb000000000001")
    assert record.standalone and record.status == AlertStatus.RESOLVED and record.incident is None

    # The next episode is a new problem and opens an incident.
    post(client, am_url(key), alertmanager(am_alert("bbbb000000000001", starts="2026-03-14T12:00:00Z")))
    assert Incident.objects.filter(status=Status.TRIGGERED).count() == 1


def test_same_fingerprint_new_start_while_firing_counts_an_occurrence(client, am):
    _, key = am
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001", starts="2026-03-14T10:00:00Z")))

    incident = Incident.objects.get()
    alert = incident.alerts.get()
    assert alert.occurrences == 2 and incident.alert_occurrences == 2 and incident.alerts_total == 1


def test_alerts_of_one_group_join_its_incident_across_requests(client, am):
    _, key = am
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002")))

    incident = Incident.objects.get()
    assert incident.alerts_total == 2
    assert LedgerEntry.objects.get(verb="incident.alerts_attached").data["dedup_keys"] == ["aaaa000000000002"]


def test_a_group_key_longer_than_the_column_is_accepted_and_still_groups(client, am):
    """Group keys are bounded at 10,000 characters; the incident stores the first 1,024, and the
    grouping itself uses the whole key."""
    _, key = am
    long_key = "{}/{}:" + "{" + ",".join(f'pod="checkout-{i:04d}"' for i in range(300)) + "}"
    assert 1024 < len(long_key) <= 10_000
    first = post(client, am_url(key), alertmanager(am_alert("bbbb000000000001"), group_key=long_key))
    second = post(client, am_url(key), alertmanager(am_alert("bbbb000000000002"), group_key=long_key))
    assert first.status_code == second.status_code == 202

    incident = Incident.objects.get()
    assert incident.group_key == long_key[:1024]
    assert incident.alerts_total == 2


def test_a_group_stops_collecting_after_its_window(client, make_integration):
    _, key = make_integration("alertmanager", group_window_seconds=600)
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001")))
    first = Incident.objects.get()
    Incident.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002")))

    first.refresh_from_db()
    second = Incident.objects.exclude(pk=first.pk).get()
    assert first.status == Status.TRIGGERED and second.status == Status.TRIGGERED
    # The old alert stays where it was (a re-send); the new one opened the group's next incident.
    assert list(first.alerts.values_list("dedup_key", flat=True)) == ["aaaa000000000001"]
    assert list(second.alerts.values_list("dedup_key", flat=True)) == ["aaaa000000000002"]
    assert first.dedup_key.endswith(f"#{first.pk}")


def test_without_grouping_each_alert_has_its_own_incident(client, make_integration):
    _, key = make_integration("alertmanager", grouping=False)
    post(client, am_url(key), alertmanager(am_alert("aaaa000000000001"), am_alert("aaaa000000000002")))

    assert sorted(Incident.objects.values_list("dedup_key", flat=True)) == [
        "aaaa000000000001",
        "aaaa000000000002",
    ]


def test_truncated_alerts_are_noted_on_the_raw_payload(client, am):
    _, key = am
    response = post(client, am_url(key), alertmanager(am_alert("aaaa000000000001"), truncated=12))

    assert response.status_code == 202
    payload = RawPayload.objects.get()
    assert {"truncated_alerts": 12} in payload.result


def test_unicode_labels_and_annotations_survive(client, am):
    _, key = am
    alert = am_alert("cccc000000000001", team="Zahlungsverkehr", région="eu-ouest")
    alert["annotations"]["summary"] = "Fehlerquote über 5 % — 決済 ⚠️"

    assert post(client, am_url(key), alertmanager(alert)).status_code == 202

    stored = Alert.objects.get()
    assert stored.title == "Fehlerquote über 5 % — 決済 ⚠️"
    assert stored.labels["région"] == "eu-ouest"
    assert "決済" in RawPayload.objects.get().body


def test_missing_optional_fields_are_fine(client, am):
    """Only ``alerts[].status`` and ``alerts[].labels`` are required; no fingerprint means one is made
    from the labels, so the same alert still deduplicates."""
    _, key = am
    bare = {"alerts": [{"status": "firing", "labels": {"alertname": "Watchdog"}}]}

    assert post(client, am_url(key), bare).status_code == 202
    assert post(client, am_url(key), bare).status_code == 202

    incident = Incident.objects.get()
    assert incident.title == "Watchdog"
    assert incident.alert_occurrences == 1 + 1 and incident.alerts.count() == 1
    assert incident.severity == incident.service.default_severity


def test_nanosecond_timestamps_are_read(client, am):
    _, key = am
    alert = am_alert("dddd000000000001", starts="2026-03-14T09:26:53.415926535Z")

    assert post(client, am_url(key), alertmanager(alert)).status_code == 202

    stored = Alert.objects.get(dedup_key="dddd000000000001")
    # The raw startsAt names the firing episode, nanoseconds and all.
    assert stored.occurrence_key == "2026-03-14T09:26:53.415926535Z"
    assert stored.status == AlertStatus.FIRING and stored.severity == Severity.SEV1
    assert stored.title == "Checkout error rate above 5% on checkout-7f9c6d-x2k4p"
    incident = stored.incident
    # Alertmanager groups: the incident is keyed by its group, the alert by its fingerprint.
    assert incident.group_key == AM_GROUP_KEY and incident.status == Status.TRIGGERED
    assert incident.alerts_total == 1 and incident.alerts_firing == 1
    assert incident.title == stored.title and incident.severity == Severity.SEV1
    # Parsed, not just accepted: the timestamp lands in the stored result, to the microsecond.
    result = RawPayload.objects.get().result[0]
    assert result["dedup_key"] == "dddd000000000001" and result["outcome"] == "created"
    assert parse_timestamp("2026-03-14T09:26:53.415926535Z") == datetime(
        2026, 3, 14, 9, 26, 53, 415926, tzinfo=UTC
    )
    # The same episode re-sent is recognised as such: nothing is counted twice.
    assert post(client, am_url(key), alertmanager(alert)).status_code == 202
    stored.refresh_from_db()
    assert stored.occurrences == 1 and Incident.objects.count() == 1


def test_key_in_a_bearer_header(client, am):
    _, key = am
    response = post(
        client, "/api/v1/integrations/alertmanager/", alertmanager(), HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 202
    assert Incident.objects.count() == 1


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "4", "status": "firing"}, "alerts"),
        ({"alerts": "not a list"}, "alerts"),
        ({"alerts": [{"labels": {"a": "b"}}]}, "alerts.0.status"),
        ({"alerts": [{"status": "pending", "labels": {"a": "b"}}]}, "alerts.0.status"),
        ({"alerts": [{"status": "firing"}]}, "alerts.0.labels"),
        ({"alerts": [{"status": "firing", "labels": {"severity": 3}}]}, "alerts.0.labels.severity"),
        ({"alerts": [{"status": "firing", "labels": {}, "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({"alerts": [], "truncatedAlerts": "2"}, "truncatedAlerts"),
        ({"alerts": [], "version": "3"}, "version"),
        ({"alerts": [], "groupLabels": ["x"]}, "groupLabels"),
        ([1, 2, 3], "non_field_errors"),
    ],
)
def test_wrong_shapes_are_400_problems_naming_the_field(client, am, body, field):
    _, key = am

    response = post(client, am_url(key), body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert field in {error["field"] for error in response.json()["errors"]}
    assert not Incident.objects.exists() and not RawPayload.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"alerts": [}', b"\xff\xfe{}", b'{"alerts": NaN}', b"[" * 100 + b"]" * 100],
    ids=["empty", "truncated", "malformed", "not-utf8", "nan", "too-deep"],
)
def test_malformed_json_is_a_400_problem(client, am, raw):
    _, key = am

    response = client.post(am_url(key), raw, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert not RawPayload.objects.exists()


def test_nul_characters_are_stored_safely(client, am):
    _, key = am
    alert = am_alert("eeee000000000001")
    alert["annotations"]["summary"] = "bad\u0000byte"

    response = post(client, am_url(key), alertmanager(alert))

    assert response.status_code == 202
    assert Alert.objects.get().title == "bad\ufffdbyte"


def test_only_post(client, am):
    _, key = am
    response = client.get(am_url(key))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("key", ["opi_doesnotexist000000000000000000", None])
def test_unknown_key_is_404_and_nothing_is_written(client, am, key):
    if key is None:
        response = post(client, "/api/v1/integrations/alertmanager/", alertmanager())
    else:
        response = post(client, am_url(key), alertmanager())

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert not Incident.objects.exists() and not RawPayload.objects.exists() and not Alert.objects.exists()


def test_disabled_integration_is_404(client, am):
    integration, key = am
    integration.__class__.objects.filter(pk=integration.pk).update(enabled=False)

    assert post(client, am_url(key), alertmanager()).status_code == 404
    assert not Incident.objects.exists()


def test_another_kinds_key_is_404(client, make_integration):
    _, key = make_integration("grafana")

    assert post(client, am_url(key), alertmanager()).status_code == 404


def test_raw_payload_keeps_the_body_bounded(client, am, settings):
    _, key = am
    settings.INGEST_RAW_PAYLOAD_MAX_BYTES = 1024
    alert = am_alert("ffff000000000001")
    alert["annotations"]["description"] = "x" * 5000
    body = json.dumps(alertmanager(alert))

    assert client.post(am_url(key), body, content_type="application/json").status_code == 202

    stored = RawPayload.objects.get()
    assert stored.truncated and stored.size == len(body.encode()) and len(stored.body) == 1024


def test_a_notification_of_thousands_of_new_alerts_opens_each(client, make_integration, settings):
    """1,700 new incidents of 41 columns: as rows of placeholders, more values than PostgreSQL's
    protocol carries with one statement (65,535); they go as one array a column
    (``opsplatform.core.prepared.insert_statement``), and every alert opens its own incident."""
    settings.API_MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
    _, key = make_integration("alertmanager", grouping=False)
    alerts = [am_alert(f"{n:016x}") for n in range(1700)]

    response = post(client, am_url(key), alertmanager(*alerts))

    assert response.status_code == 202, response.content
    assert Incident.objects.count() == 1700
    assert Alert.objects.filter(status=AlertStatus.FIRING).count() == 1700
    assert set(Incident.objects.values_list("dedup_key", flat=True)) == {a["fingerprint"] for a in alerts}
    assert LedgerEntry.objects.filter(verb="incident.triggered").count() == 1700
