"""Results recorded together: quiet results (no state, flapping or alerting change) in one
transaction; anything else, and everything when the batch fails, one row at a time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from monitoring.models import CheckResult, Monitor
from monitoring.probes.base import ProbeResult
from monitoring.services.batch import Item, record_batch
from tests.ledger import entries

pytestmark = pytest.mark.django_db


def _steady(monitor, state="up"):
    Monitor.objects.filter(pk=monitor.pk).update(
        state=state, consecutive_successes=5, history="u" * 21, alerting=state == "down"
    )


def test_quiet_results_are_written_together_and_the_rest_one_by_one(make_monitor, service):
    now = timezone.now()
    steady = [make_monitor(name=f"steady {n}", target=f"https://s{n}.example.com/") for n in range(3)]
    for monitor in steady:
        _steady(monitor)
    failing = make_monitor(name="failing", target="https://f.example.com/", down_after=1, service=service)
    _steady(failing)
    due = now - timedelta(seconds=2)
    items = [Item(m.pk, ProbeResult("up", "status 200", 12.0), now, due) for m in steady]
    items.append(Item(failing.pk, ProbeResult("down", "status 503", 30.0), now, due))

    assert record_batch(items) == 3  # the fourth changed state: the one-row path

    assert CheckResult.objects.count() == 4
    for monitor in steady:
        monitor.refresh_from_db()
        assert (monitor.state, monitor.consecutive_successes, monitor.last_message) == ("up", 6, "status 200")
        assert monitor.history == "u" * 22
        assert monitor.next_check_at == due + timedelta(seconds=monitor.interval_seconds)
        assert not entries("monitor.state_changed", target=monitor).exists()
    failing.refresh_from_db()
    assert failing.state == "down"
    assert len(entries("monitor.state_changed", target=failing)) == 1
    assert Incident.objects.count() == 1
    assert CheckResult.objects.get(monitor=steady[0]).lateness_ms == pytest.approx(2000, abs=1)


def test_a_second_result_of_one_monitor_in_a_batch_takes_the_one_row_path(make_monitor):
    monitor = make_monitor(name="twice", target="https://t.example.com/")
    _steady(monitor)
    now = timezone.now()
    items = [
        Item(monitor.pk, ProbeResult("up", "a", 1.0), now, None),
        Item(monitor.pk, ProbeResult("up", "b", 2.0), now, None),
    ]
    assert record_batch(items) == 1
    monitor.refresh_from_db()
    assert monitor.consecutive_successes == 7
    assert CheckResult.objects.filter(monitor=monitor).count() == 2


def test_when_the_batch_fails_every_result_is_recorded_alone(make_monitor, monkeypatch):
    good = make_monitor(name="good", target="https://g.example.com/")
    _steady(good)
    now = timezone.now()
    # A message the column cannot take would fail the batch's single INSERT ... but it is cut to 500
    # characters; a NUL byte is what PostgreSQL refuses in text.
    bad = Item(good.pk, ProbeResult("up", "bad \x00 byte", 1.0), now, None)
    other = make_monitor(name="other", target="https://o.example.com/")
    _steady(other)
    assert record_batch([bad, Item(other.pk, ProbeResult("up", "fine", 1.0), now, None)]) == 0
    assert list(CheckResult.objects.values_list("monitor__name", flat=True)) == ["other"]
    other.refresh_from_db()
    assert other.consecutive_successes == 6
