"""The paging tasks kick each other through ``opsplatform.core.kicks``: an escalation tick that paged
someone asks for a delivery tick (one waiting at a time), and a delivery tick that ran out of its
time budget with pages left asks for the next at once; a kicked escalation tick gathers the
incidents of its first moments before it claims. Messages land in a broker list private to
the test."""

import threading
import time

import pytest
from django.db import connection

from incidents.ingest.escalate_soon import kick as kick_escalation
from notifications import tasks
from notifications.models import Notification, NotificationStatus
from tests.kick_queue import private_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_loopback")]
DELIVERY = "notifications.delivery_tick"
ESCALATION = "notifications.escalation_tick"


@pytest.fixture
def queue(monkeypatch):
    with private_queue(monkeypatch, tasks.kick_delivery) as waiting:
        yield waiting


def test_escalation_ticks_that_page_kick_one_waiting_delivery_tick(webhook, open_incident, queue):
    first, second = open_incident(title="First"), open_incident(title="Second")

    assert tasks.escalation_tick() == 2
    assert queue() == [DELIVERY]
    assert Notification.objects.filter(incident__in=[first, second]).count() == 2

    third = open_incident(title="Third")
    tasks.kick_delivery.forget()
    assert tasks.escalation_tick() == 1
    assert queue() == [DELIVERY]  # the kicked delivery tick has not started: it will send this one too
    assert Notification.objects.filter(incident=third).count() == 1


def test_a_delivery_tick_out_of_time_kicks_the_next(webhook, open_incident, receiver, queue, settings):
    open_incident(title="Left over")
    tasks.escalation_tick()
    assert queue() == [DELIVERY]

    settings.NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS = 0
    tasks.kick_delivery.forget()
    assert tasks.delivery_tick() == 0
    assert queue() == [DELIVERY, DELIVERY]  # it started (clearing the mark), ran out, asked again

    settings.NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS = 30
    tasks.kick_delivery.forget()
    assert tasks.delivery_tick() == 1
    assert queue() == [DELIVERY, DELIVERY]  # drained: nothing more to ask for
    assert Notification.objects.get().status == NotificationStatus.SENT
    assert len(receiver.requests) == 1


def test_a_tick_gathers_what_comes_while_it_waits_and_asks_for_no_other(
    webhook, open_incident, queue, monkeypatch, settings
):
    settings.ESCALATION_GATHER_SECONDS = 0.6
    first = open_incident(title="First")
    with private_queue(monkeypatch, kick_escalation) as ticks:
        assert kick_escalation()
        outcome = {}

        def tick():
            try:
                outcome["steps"] = tasks.escalation_tick()
            finally:
                connection.close()

        worker = threading.Thread(target=tick)
        worker.start()
        time.sleep(0.2)  # the tick is gathering
        second = open_incident(title="Second")
        kick_escalation.forget()
        assert not kick_escalation()  # its mark is still set: no second tick for the new incident
        worker.join(10)

        assert outcome["steps"] == 2  # both claimed by the one tick
        assert Notification.objects.filter(incident__in=[first, second]).count() == 2
        # (The delivery tick the escalation kicked lands in the same private queue.)
        assert sorted(ticks()) == [DELIVERY, ESCALATION]
        kick_escalation.forget()
        assert kick_escalation()  # the tick cleared the mark when it claimed
        assert sorted(ticks()) == [DELIVERY, ESCALATION, ESCALATION]
