"""The check tick against real peers: claims due monitors, probes, records, reschedules; rollups, purge."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from monitoring.models import CheckResult, Monitor, Rollup
from monitoring.rollups import roll_up
from monitoring.scheduler import run_check_tick
from tests.monitoring.peers import closed_port, dns_peer, http_peer, tcp_listener
from tests.retention import purge

pytestmark = pytest.mark.django_db


def test_a_tick_checks_every_due_monitor_once_and_reschedules(make_monitor):
    with (
        http_peer() as web,
        tcp_listener() as port,
        dns_peer({"db.example.test": "203.0.113.9"}) as (_r, dns_port),
    ):
        web.route("/health", body=b"ok")
        http_m = make_monitor(name="web", target=web.url + "/health", interval_seconds=30)
        tcp_m = make_monitor(name="tcp", kind="tcp", target=f"127.0.0.1:{port}", interval_seconds=60)
        dead = make_monitor(
            name="dead",
            kind="tcp",
            target=f"127.0.0.1:{closed_port()}",
            down_after=1,
            interval_seconds=60,
            down_interval_seconds=10,
        )
        dns_m = make_monitor(
            name="dns",
            kind="dns",
            target="db.example.test",
            interval_seconds=300,
            assertions={"nameserver": "127.0.0.1", "port": dns_port, "expected": "203.0.113.9"},
        )
        paused = make_monitor(name="paused", target=web.url + "/health")
        Monitor.objects.filter(pk=paused.pk).update(paused=True)
        due = {m.pk: m.next_check_at for m in (http_m, tcp_m, dead, dns_m)}

        with override_settings(MONITORING_BATCH_SIZE=2):  # several batches in one tick
            checked = run_check_tick()
        again = run_check_tick()

    assert checked == 4
    assert again == 0  # nothing due any more
    assert [h[1] for h in web.hits] == ["/health"]
    states = dict(Monitor.objects.values_list("name", "state"))
    assert states == {"web": "up", "tcp": "up", "dead": "down", "dns": "up", "paused": "pending"}
    assert CheckResult.objects.count() == 4
    for monitor in Monitor.objects.exclude(pk=paused.pk):
        interval = 10 if monitor.name == "dead" else monitor.interval_seconds  # faster while down
        assert monitor.next_check_at == due[monitor.pk] + timedelta(seconds=interval), monitor.name
    assert CheckResult.objects.get(monitor=dead).message.startswith("connection failed")


def test_jitter_spreads_the_next_check(make_monitor):
    with tcp_listener() as port:
        monitor = make_monitor(kind="tcp", target=f"127.0.0.1:{port}", interval_seconds=60, jitter_seconds=5)
        due = monitor.next_check_at
        run_check_tick()
    monitor.refresh_from_db()
    offset = (monitor.next_check_at - due).total_seconds()
    assert 60 <= offset <= 65


def test_rollups_and_the_purge(make_monitor):
    monitor = make_monitor(target="https://api.example.com/")
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    for i, (outcome, latency) in enumerate([("up", 10.0), ("up", 20.0), ("down", 30.0), ("up", 40.0)]):
        CheckResult.objects.create(
            monitor=monitor,
            checked_at=minute + timedelta(seconds=i * 10),
            outcome=outcome,
            latency_ms=latency,
        )
    old = CheckResult.objects.create(
        monitor=monitor, checked_at=timezone.now() - timedelta(days=30), outcome="up"
    )

    roll_up(now=minute + timedelta(minutes=2))
    roll_up(now=minute + timedelta(minutes=2))  # twice: the same numbers

    bucket = Rollup.objects.get(monitor=monitor, period="minute", start=minute)
    assert (bucket.checks, bucket.failures) == (4, 1)
    assert bucket.uptime_percent == 75.0
    assert bucket.latency_p50 == pytest.approx(25.0)
    assert bucket.latency_p95 == pytest.approx(38.5)
    assert Rollup.objects.filter(monitor=monitor, period="hour").count() == 1

    assert purge("check_results") == 1
    assert not CheckResult.objects.filter(pk=old.pk).exists()
    assert CheckResult.objects.filter(monitor=monitor).count() == 4
