"""A delivery tick on the wall clock that found pages keeps looking a moment after the outbox ran
dry (``LINGER_SECONDS``): during a storm the next pages arrive while it runs, and it sends them
instead of leaving them for the next tick. A tick that found nothing ends at once."""

import threading
import time

import pytest
from django.db import connections

from notifications.delivery import run_delivery_tick, tick
from tests.notifications.ticks import escalate

pytestmark = [
    pytest.mark.usefixtures("allow_loopback", "fast_retries"),
    pytest.mark.django_db(transaction=True),
]


def test_a_tick_that_found_pages_sends_the_ones_made_while_it_lingers(
    webhook, open_incident, receiver, monkeypatch
):
    monkeypatch.setattr(tick, "LINGER_SECONDS", 10.0)  # far longer than the steps below take
    escalate(open_incident, title="First")
    result = {}

    def deliver():
        try:
            result["stats"] = run_delivery_tick(time_budget=30)
        finally:
            connections.close_all()  # this thread's own

    runner = threading.Thread(target=deliver)
    runner.start()
    receiver.wait_for(1, timeout=10)
    escalate(open_incident, title="Second")
    runner.join(30)
    assert not runner.is_alive()
    assert result["stats"].sent == 2
    assert len(receiver.requests) == 2


def test_a_tick_that_found_nothing_ends_at_once(webhook, monkeypatch):
    monkeypatch.setattr(tick, "LINGER_SECONDS", 10.0)
    started = time.monotonic()
    assert run_delivery_tick(time_budget=30).claimed == 0
    assert time.monotonic() - started < 5


def test_a_tick_out_of_time_with_pages_left_says_so(webhook, open_incident, receiver):
    escalate(open_incident, title="Left for the next tick")

    stats = run_delivery_tick(time_budget=0)

    assert stats.out_of_time is True
    assert stats.sent == 0
    # The next tick (kicked at once by the task) sends it; drained, it is not out of time.
    stats = run_delivery_tick(time_budget=30)
    assert (stats.sent, stats.out_of_time) == (1, False)
    assert len(receiver.requests) == 1
