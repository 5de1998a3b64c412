"""A request's new incidents, new alerts and counters are written in one statement each, however
many events it holds, and every event still gets its own incident, alert and count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import LedgerEntry
from incidents.ingest.batch import Batch
from incidents.models import Alert, AlertStatus, Incident, RawPayload
from tests.incidents.ingest.payloads import alertmanager, am_alert, am_url, post

pytestmark = pytest.mark.django_db

EARLIER = "2026-03-14T09:26:53.415Z"
LATER = "2026-03-14T10:01:00.000Z"


def _statements(queries, prefix: str) -> int:
    return sum(1 for query in queries if query["sql"].startswith(prefix))


def _post(client, key, *alerts):
    with CaptureQueriesContext(connection) as queries:
        response = post(client, am_url(key), alertmanager(*alerts))
    assert response.status_code == 202, response.content
    return response.json(), queries.captured_queries


def test_six_new_keys_open_six_incidents_in_one_statement_and_their_alerts_in_another(
    client, make_integration
):
    _, key = make_integration("alertmanager", grouping=False)
    fingerprints = [f"new{n:013d}" for n in range(6)]

    body, queries = _post(client, key, *(am_alert(fp) for fp in reversed(fingerprints)))

    assert body["outcomes"]["created"] == 6
    assert _statements(queries, "INSERT INTO incidents_incident") == 1
    assert _statements(queries, "INSERT INTO incidents_alert") == 1
    incidents = {incident.dedup_key: incident for incident in Incident.objects.all()}
    assert sorted(incidents) == fingerprints
    for fingerprint, incident in incidents.items():
        alert = Alert.objects.get(incident=incident)
        assert alert.dedup_key == fingerprint and alert.status == AlertStatus.FIRING
        assert (incident.alerts_total, incident.alerts_firing, incident.alert_occurrences) == (1, 1, 1)
    # Each event's answer names its own incident and alert, in the order the events were sent.
    stored = RawPayload.objects.get().result
    assert [r["dedup_key"] for r in stored] == list(reversed(fingerprints))
    for result in stored:
        alert = Alert.objects.get(pk=result["alert"])
        assert alert.dedup_key == result["dedup_key"] and alert.incident_id == result["incident"]
    triggered = LedgerEntry.objects.filter(verb="incident.triggered")
    assert sorted(int(e.target_id) for e in triggered) == sorted(i.pk for i in incidents.values())


def test_new_keys_beside_known_ones_share_the_statements_and_keep_every_count(client, make_integration):
    _, key = make_integration("alertmanager", grouping=False)
    _post(client, key, am_alert("known00000000001"), am_alert("known00000000002"))
    known = Incident.objects.get(dedup_key="known00000000001")

    body, queries = _post(
        client,
        key,
        am_alert("known00000000001", starts=LATER),  # a new episode of a known alert: counted
        am_alert("known00000000002"),  # the same episode re-sent: nothing changes
        am_alert("fresh00000000001"),
        am_alert("fresh00000000002"),
    )

    assert body["outcomes"] == {**body["outcomes"], "created": 2, "deduplicated": 2}
    assert _statements(queries, "INSERT INTO incidents_incident") == 1
    assert _statements(queries, "INSERT INTO incidents_alert") == 1
    known.refresh_from_db()
    assert (known.alerts_total, known.alerts_firing, known.alert_occurrences) == (1, 1, 2)
    assert Alert.objects.get(dedup_key="known00000000001").occurrences == 2
    assert Alert.objects.get(dedup_key="known00000000002").occurrences == 1
    assert Incident.objects.count() == 4


def test_a_new_key_twice_in_one_request_is_one_incident_with_both_episodes_counted(client, make_integration):
    _, key = make_integration("alertmanager", grouping=False)

    _post(
        client,
        key,
        am_alert("twice00000000001", starts=EARLIER),
        am_alert("other00000000001"),
        am_alert("twice00000000001", starts=LATER),
        am_alert("twice00000000001", starts=LATER),  # a re-send of the second episode
    )

    results = RawPayload.objects.get().result
    assert [r["outcome"] for r in results] == ["created", "created", "deduplicated", "deduplicated"]
    incident = Incident.objects.get(dedup_key="twice00000000001")
    alert = Alert.objects.get(dedup_key="twice00000000001")
    assert alert.incident_id == incident.pk and alert.occurrences == 2
    assert (incident.alerts_total, incident.alerts_firing, incident.alert_occurrences) == (1, 1, 2)
    assert {r["alert"] for r in results if r["dedup_key"] == "twice00000000001"} == {alert.pk}


def test_a_grouped_request_attaches_its_alerts_and_counts_them_in_one_update(client, make_integration):
    _, key = make_integration("alertmanager")
    _post(client, key, am_alert("group00000000001"))
    incident = Incident.objects.get()

    body, queries = _post(
        client,
        key,
        am_alert("group00000000001", status="resolved"),
        am_alert("group00000000002"),
        am_alert("group00000000003"),
        am_alert("group00000000004"),
    )

    assert body["outcomes"] == {**body["outcomes"], "attached": 3, "resolved": 1}
    assert _statements(queries, "INSERT INTO incidents_alert") == 1
    assert _statements(queries, "UPDATE incidents_incident AS i SET alerts_total") == 1
    incident.refresh_from_db()
    assert (incident.alerts_total, incident.alerts_firing, incident.alert_occurrences) == (4, 3, 4)
    assert set(incident.alerts.values_list("dedup_key", "status")) == {
        ("group00000000001", AlertStatus.RESOLVED),
        ("group00000000002", AlertStatus.FIRING),
        ("group00000000003", AlertStatus.FIRING),
        ("group00000000004", AlertStatus.FIRING),
    }


def test_an_incident_opened_for_no_event_rolls_the_whole_request_back(client, make_integration, monkeypatch):
    """The guard behind opening incidents ahead of their events: if the prediction and the events
    ever disagree, the request stores nothing rather than an incident claiming an alert it lacks."""
    _, key = make_integration("alertmanager", grouping=False)
    _post(client, key, am_alert("known00000000001"))
    # Wrong on purpose: every event is taken for one that opens an incident, resolves included.
    monkeypatch.setattr(Batch, "_opens_incident", lambda self, decision: True)

    with pytest.raises(RuntimeError, match="incidents opened for no event"):
        post(client, am_url(key), alertmanager(am_alert("unknown0000000001", status="resolved")))

    assert list(Incident.objects.values_list("dedup_key", flat=True)) == ["known00000000001"]
    assert RawPayload.objects.count() == 1 and Alert.objects.count() == 1
