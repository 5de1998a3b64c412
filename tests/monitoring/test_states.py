"""Hysteresis, degraded, flapping and the incident a monitor opens through the ingestion pipeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Alert, Incident, Integration
from monitoring.models import CheckResult, Monitor, MonitorState, Outcome
from monitoring.probes.base import ProbeResult
from monitoring.services import record_result
from tests.ledger import entries, verbs

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def feed(monitor, outcomes, start=0):
    for i, outcome in enumerate(outcomes, start=start):
        record_result(
            monitor.pk, ProbeResult(outcome, f"check {i}", 12.0), now=T0 + timedelta(seconds=30 * i)
        )
    monitor.refresh_from_db()
    return monitor


def incidents_of(monitor):
    return Incident.objects.filter(dedup_key=f"monitor:{monitor.pk}")


UP, DOWN, DEGRADED = Outcome.UP, Outcome.DOWN, Outcome.DEGRADED


def test_down_after_n_failures_and_up_after_m_successes(make_monitor, service):
    monitor = make_monitor(
        name="api", target="https://api.example.com/health", service=service, down_after=3, up_after=2
    )

    feed(monitor, [UP, DOWN, DOWN])
    assert monitor.state == MonitorState.UP  # two failures: below the threshold, nothing happens
    assert monitor.consecutive_failures == 2
    assert not incidents_of(monitor).exists()

    feed(monitor, [DOWN, DOWN], start=3)
    assert monitor.state == MonitorState.DOWN
    incident = incidents_of(monitor).get()
    assert incident.status == "triggered"
    assert incident.service_id == service.pk  # routed to the monitor's service
    assert incident.title == "Monitor down: api"
    assert monitor.alerting

    feed(monitor, [UP], start=5)
    assert monitor.state == MonitorState.DOWN  # one success of the two needed
    feed(monitor, [UP], start=6)
    assert monitor.state == MonitorState.UP
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incidents_of(monitor).count() == 1
    assert not monitor.alerting
    assert verbs(monitor, prefix="monitor.") == [
        "monitor.created",
        "monitor.state_changed",
        "monitor.state_changed",
        "monitor.state_changed",
    ]
    changes = [(e.data["from"], e.data["to"]) for e in entries("monitor.state_changed", target=monitor)]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up")]
    assert CheckResult.objects.filter(monitor=monitor).count() == 7
    # The incident came in through the pipeline: an alert on the monitors integration of the service.
    alert = Alert.objects.get(dedup_key=f"monitor:{monitor.pk}")
    assert alert.incident_id == incident.pk
    assert Integration.objects.get(pk=alert.integration_id).service_id == service.pk
    assert entries("incident.triggered", target=incident).count() == 1


def test_a_down_monitor_opens_one_incident_however_often_it_fails(make_monitor):
    monitor = make_monitor(target="https://api.example.com/", down_after=1)

    feed(monitor, [DOWN] * 5)

    assert incidents_of(monitor).count() == 1
    assert entries("monitor.state_changed", target=monitor).count() == 1
    assert Alert.objects.filter(dedup_key=f"monitor:{monitor.pk}").count() == 1


def test_failure_ratio_over_a_window_goes_down(make_monitor):
    # Never two failures in a row, but 3 of the last 5 failed.
    monitor = make_monitor(target="https://api.example.com/", down_after=5, failure_ratio=0.6, ratio_window=5)

    feed(monitor, [UP, DOWN, UP, DOWN])
    assert monitor.state == MonitorState.UP
    feed(monitor, [DOWN], start=4)

    assert monitor.state == MonitorState.DOWN
    assert incidents_of(monitor).count() == 1


def test_degraded_in_between_and_no_incident(make_monitor):
    monitor = make_monitor(target="https://api.example.com/")

    feed(monitor, [UP, DEGRADED])
    assert monitor.state == MonitorState.DEGRADED
    feed(monitor, [UP], start=2)

    assert monitor.state == MonitorState.UP
    assert not incidents_of(monitor).exists()
    changes = [(e.data["from"], e.data["to"]) for e in entries("monitor.state_changed", target=monitor)]
    assert changes == [("pending", "up"), ("up", "degraded"), ("degraded", "up")]


def test_not_permitted_changes_nothing(make_monitor):
    monitor = make_monitor(kind="ping", target="127.0.0.1")

    feed(monitor, [UP, Outcome.NOT_PERMITTED, Outcome.NOT_PERMITTED])

    assert monitor.state == MonitorState.UP
    assert monitor.history == "u"
    assert CheckResult.objects.filter(monitor=monitor, outcome="not_permitted").count() == 2


def test_a_flapping_monitor_opens_one_incident_that_says_so_and_stays_quiet(make_monitor):
    monitor = make_monitor(name="shaky", target="https://api.example.com/", down_after=1, up_after=1)

    # 16 up, then down/up alternating. Until 21 results exist there is no flap verdict, so each
    # down opens an incident and each up resolves it.
    feed(monitor, [UP] * 16)
    feed(monitor, [DOWN], start=16)
    assert incidents_of(monitor).filter(status="triggered").count() == 1
    feed(monitor, [UP], start=17)
    assert incidents_of(monitor).filter(status="resolved").count() == 1
    feed(monitor, [DOWN, UP], start=18)
    assert incidents_of(monitor).filter(status="resolved").count() == 2
    feed(monitor, [DOWN], start=20)  # 21 results now: 29.934 % state change

    assert monitor.flapping
    assert monitor.state == MonitorState.DOWN
    open_ = incidents_of(monitor).exclude(status="resolved").get()
    assert open_.title == "Monitor flapping: shaky"
    assert verbs(monitor, prefix="monitor.flapping") == ["monitor.flapping_started"]

    # While flapping, more changes raise nothing new and resolve nothing.
    feed(monitor, [UP, DOWN, UP, DOWN, UP], start=21)
    assert incidents_of(monitor).exclude(status="resolved").get().pk == open_.pk
    assert Incident.objects.filter(dedup_key=f"monitor:{monitor.pk}").count() == 3

    # Stable again: up until the change rate falls below 5 %; then the incident resolves.
    feed(monitor, [UP] * 20, start=26)
    assert not monitor.flapping
    assert monitor.state == MonitorState.UP
    open_.refresh_from_db()
    assert open_.status == "resolved"
    assert verbs(monitor, prefix="monitor.flapping") == [
        "monitor.flapping_started",
        "monitor.flapping_stopped",
    ]


def test_flapping_from_up_raises_the_flapping_incident(make_monitor):
    # down_after high: the monitor never goes down, it only changes between up and degraded.
    monitor = make_monitor(name="wobbly", target="https://api.example.com/", down_after=50)

    feed(monitor, [UP] * 16 + [DEGRADED, UP, DEGRADED, UP, DEGRADED])

    assert monitor.flapping
    incident = incidents_of(monitor).get()
    assert incident.title == "Monitor flapping: wobbly"
    assert incident.status == "triggered"
    feed(monitor, [DEGRADED, UP] * 3, start=21)
    assert incidents_of(monitor).count() == 1
    assert Alert.objects.get(dedup_key=f"monitor:{monitor.pk}").occurrences == 1


def test_a_paused_monitor_records_nothing(make_monitor, actor_as):
    from monitoring.services import monitor_pause

    monitor = make_monitor(target="https://api.example.com/")
    monitor_pause(actor=actor_as("manager"), monitor=monitor)

    assert record_result(monitor.pk, ProbeResult(DOWN, "x")) is None
    assert not CheckResult.objects.filter(monitor=monitor).exists()
    assert Monitor.objects.get(pk=monitor.pk).state == MonitorState.PAUSED
