"""The ingestion throttle's leases: a web process counts a busy integration's permits in Redis ahead,
a lease at a time, and hands them out without asking again; never past the limit."""

import pytest

from incidents.ingest import counters, throttling
from incidents.ingest.throttling import lease_size, throttle_key, throttle_wait

pytestmark = pytest.mark.django_db

NOW = 1_700_000_130.0  # 10 s into a minute window


def _counted(integration, now=NOW) -> int:
    return int(counters.client().get(f"{throttle_key(integration.pk)}:{int(now // 60)}") or 0)


@pytest.fixture
def fresh_leases(monkeypatch):
    """A process of its own: no lease left over from another test."""
    monkeypatch.setattr(throttling, "leases", throttling._Leases())


def test_a_busy_integration_asks_redis_once_a_lease(make_integration, fresh_leases):
    integration, _ = make_integration("pagerduty", throttle_rate="10000/min")
    assert lease_size(10_000) == 50

    allowed = [throttle_wait(integration, now=NOW) is None for _ in range(120)]

    assert all(allowed)
    assert _counted(integration) == 150  # three leases of 50, counted before they were handed out


def test_leases_never_let_more_than_the_limit_through(make_integration, monkeypatch):
    integration, _ = make_integration("pagerduty", throttle_rate="250/min")
    size = lease_size(250)
    assert size == 2
    processes = [throttling._Leases(), throttling._Leases()]

    allowed = 0
    for n in range(400):
        monkeypatch.setattr(throttling, "leases", processes[n % 2])  # two web processes, in turn
        allowed += throttle_wait(integration, now=NOW) is None

    # Permits leased but unused by the end count as sent: at most one lease less per process.
    assert 250 - 2 * (size - 1) <= allowed <= 250
    assert _counted(integration) == 250  # refused requests and permits past the limit given back


def test_a_small_limit_is_counted_request_by_request(make_integration, fresh_leases):
    integration, _ = make_integration("pagerduty", throttle_rate="150/min")
    assert lease_size(150) == 1

    results = [throttle_wait(integration, now=NOW) for _ in range(151)]

    assert results[:150] == [None] * 150 and results[150] >= 1
    assert _counted(integration) == 150


def test_a_new_window_does_not_use_the_last_ones_lease(make_integration, fresh_leases):
    integration, _ = make_integration("pagerduty", throttle_rate="10000/min")
    throttle_wait(integration, now=NOW)

    assert throttle_wait(integration, now=NOW + 60) is None

    assert _counted(integration, NOW + 60) == 50


def test_a_lowered_limit_is_not_spent_from_a_lease_of_the_old_one(make_integration, fresh_leases):
    integration, _ = make_integration("pagerduty", throttle_rate="10000/min")
    assert throttle_wait(integration, now=NOW) is None  # a lease of 50, 49 left in this process

    integration.throttle_rate = "2/min"
    results = [throttle_wait(integration, now=NOW) for _ in range(2)]

    # The window already counts 50 permits: the new limit refuses at once, lease or not.
    assert all(wait is not None for wait in results)
