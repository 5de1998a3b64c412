"""Heartbeat monitors: late, failed and recovered, with a cron schedule across daylight-saving changes."""

from datetime import UTC, datetime

import pytest

from incidents.models import Incident
from monitoring import heartbeat
from monitoring.models import CheckResult, MonitorState
from monitoring.scheduler import run_check_tick
from monitoring.services import PingKind, heartbeat_ping
from tests.ledger import entries

pytestmark = pytest.mark.django_db

BERLIN_9AM = {"cron": "0 9 * * *", "tz": "Europe/Berlin", "grace": 600}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_cron_deadlines_follow_local_time_across_both_dst_changes():
    # Spring forward (29 March 2026): 09:00 CET is 08:00 UTC, the next day's 09:00 CEST is 07:00 UTC.
    assert heartbeat.deadline(BERLIN_9AM, utc(2026, 3, 28, 8, 0)) == utc(2026, 3, 29, 7, 10)
    # Fall back (25 October 2026): 09:00 CEST is 07:00 UTC, the next day's 09:00 CET is 08:00 UTC.
    assert heartbeat.deadline(BERLIN_9AM, utc(2026, 10, 24, 7, 0)) == utc(2026, 10, 25, 8, 10)
    # A period schedule is plain arithmetic.
    assert heartbeat.deadline({"period": 3600, "grace": 60}, utc(2026, 3, 28, 8, 0)) == utc(2026, 3, 28, 9, 1)


def test_late_then_failed_then_recovered_across_the_spring_change(make_monitor):
    monitor = make_monitor(name="nightly backup", kind="heartbeat", target="backup", assertions=BERLIN_9AM)
    key = monitor.issued_ping_key

    heartbeat_ping(key=key, now=utc(2026, 3, 28, 8, 0))
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.UP
    assert monitor.next_check_at == utc(2026, 3, 29, 7, 10)  # not 08:10: local time moved

    assert run_check_tick(now=utc(2026, 3, 29, 7, 9, 59)) == 0
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.UP

    assert run_check_tick(now=utc(2026, 3, 29, 7, 10, 1)) == 1
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.DOWN  # a missed run is confirmed at once (down_after 1)
    assert monitor.last_message == "late: no ping since 2026-03-28 08:00:00 UTC"
    incident = Incident.objects.get(dedup_key=f"monitor:{monitor.pk}")
    assert incident.status == "triggered"

    # The late job runs after all: start, then success 42 s later.
    heartbeat_ping(key=key, kind=PingKind.START, now=utc(2026, 3, 29, 7, 20, 0))
    heartbeat_ping(key=key, now=utc(2026, 3, 29, 7, 20, 42))
    monitor.refresh_from_db()
    incident.refresh_from_db()
    assert monitor.state == MonitorState.UP
    assert monitor.last_run_seconds == 42.0
    assert incident.status == "resolved"
    assert monitor.next_check_at == utc(2026, 3, 30, 7, 10)

    # The next run reports failure itself.
    heartbeat_ping(key=key, kind=PingKind.FAIL, now=utc(2026, 3, 30, 7, 1))
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.DOWN
    assert monitor.last_message == "failed: ping"
    assert Incident.objects.filter(dedup_key=f"monitor:{monitor.pk}", status="triggered").count() == 1

    changes = [(e.data["from"], e.data["to"]) for e in entries("monitor.state_changed", target=monitor)]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up"), ("up", "down")]
    assert list(
        CheckResult.objects.filter(monitor=monitor).order_by("checked_at").values_list("outcome", flat=True)
    ) == [
        "up",
        "down",
        "up",
        "down",
    ]


def test_still_late_counts_again_each_interval(make_monitor):
    monitor = make_monitor(
        kind="heartbeat",
        target="etl",
        interval_seconds=60,
        down_after=2,
        assertions={"period": 600, "grace": 60},
    )
    heartbeat_ping(key=monitor.issued_ping_key, now=utc(2026, 5, 1, 12, 0))

    run_check_tick(now=utc(2026, 5, 1, 12, 11, 1))
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.UP  # one miss of the two needed
    assert monitor.next_check_at == utc(2026, 5, 1, 12, 12, 1)
    run_check_tick(now=utc(2026, 5, 1, 12, 12, 2))
    monitor.refresh_from_db()
    assert monitor.state == MonitorState.DOWN


def test_ping_urls_over_http(client, api_as):
    created = api_as("manager").post(
        "/api/v1/monitors/",
        {
            "name": "cron job",
            "kind": "heartbeat",
            "target": "job",
            "interval_seconds": 60,
            "assertions": {"period": 3600, "grace": 60},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    url = created.json()["ping_url"]
    assert url.startswith("http://testserver/api/v1/monitors/ping/")
    path = url.removeprefix("http://testserver")

    assert client.post(path + "start/").status_code == 200
    assert client.get(path).status_code == 200
    assert client.get(path.replace("/ping/", "/ping/x")).status_code == 404
    assert client.delete(path).status_code == 405

    detail = api_as("viewer").get(f"/api/v1/monitors/{created.json()['id']}/").json()
    assert detail["state"] == "up"
    assert detail["ping_url"] is None  # shown once, at creation
    assert detail["last_run_seconds"] is not None
