"""The escalation tick, driven by an explicit clock: steps on time, acknowledge stops it, repeats,
"escalate now", snooze, no policy, and the fences against running a step twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.models import Incident
from incidents.services import (
    incident_acknowledge,
    incident_escalate,
    incident_resolve,
    incident_snooze,
    incident_unsnooze,
)
from notifications.escalation import run_escalation_tick
from notifications.models import Notification
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import recipients, steps_run

MIN = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_steps(org, users, service):
    channel = make_channel(org, kind="webhook", name="Ops", url="https://hooks.example.com/x").channel
    return make_policy(
        org,
        step(("user", users["operator"]), delay=5),
        step(("user", users["manager"]), delay=10),
        step(("channel", channel), delay=15),
        services=[service],
    )


def test_three_steps_walk_on_time(three_steps, open_incident):
    incident = open_incident()
    t0 = incident.next_escalation_at
    assert run_escalation_tick(now=t0).steps == 1
    assert recipients(incident) == ["operator"]
    incident.refresh_from_db()
    assert incident.next_escalation_at == t0 + 5 * MIN and incident.escalation_step == 1

    assert run_escalation_tick(now=t0 + 4 * MIN).steps == 0  # not due yet
    assert run_escalation_tick(now=t0 + 5 * MIN).steps == 1
    assert recipients(incident) == ["operator", "manager"]
    assert run_escalation_tick(now=t0 + 14 * MIN).steps == 0
    assert run_escalation_tick(now=t0 + 15 * MIN).steps == 1
    assert recipients(incident) == ["operator", "manager", "Ops"]
    assert steps_run(incident) == [(1, 1), (2, 1), (3, 1)]

    # After the last step's delay the policy is exhausted: recorded once, timer cleared.
    run_escalation_tick(now=t0 + 30 * MIN)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert LedgerEntry.objects.filter(target_id=str(incident.pk), verb="escalation.exhausted").count() == 1
    assert run_escalation_tick(now=t0 + 2 * 60 * MIN).steps == 0
    rows = Notification.objects.filter(incident=incident)
    assert [r.step for r in rows.order_by("id")] == [0, 1, 2]
    assert all(r.next_attempt_at in (t0, t0 + 5 * MIN, t0 + 15 * MIN) for r in rows)


def test_acknowledge_stops_escalation(three_steps, open_incident, actor_as):
    incident = open_incident()
    t0 = incident.next_escalation_at
    run_escalation_tick(now=t0)
    incident_acknowledge(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    for minutes in (5, 15, 60):
        assert run_escalation_tick(now=t0 + minutes * MIN).steps == 0
    assert recipients(incident) == ["operator"]


def test_resolve_stops_escalation(three_steps, open_incident, actor_as):
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    incident_resolve(actor=actor_as("operator"), incident=incident)
    assert run_escalation_tick(now=timezone.now() + 60 * MIN).steps == 0


def test_policy_repeats_as_configured(org, users, service, open_incident):
    make_policy(
        org,
        step(("user", users["operator"]), delay=1),
        step(("user", users["manager"]), delay=1),
        repeat_count=2,
        services=[service],
    )
    incident = open_incident()
    t = incident.next_escalation_at
    for _ in range(10):
        run_escalation_tick(now=t)
        t += MIN
    assert steps_run(incident) == [(1, 1), (2, 1), (1, 2), (2, 2), (1, 3), (2, 3)]
    assert recipients(incident) == ["operator", "manager"] * 3
    incident.refresh_from_db()
    assert incident.next_escalation_at is None and incident.escalation_cycle == 2


def test_escalate_now_jumps_to_the_next_step(three_steps, open_incident, actor_as):
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    incident_escalate(actor=actor_as("operator"), incident=incident)  # timer = now, epoch + 1
    incident.refresh_from_db()
    assert run_escalation_tick(now=incident.next_escalation_at).steps == 1
    assert recipients(incident) == ["operator", "manager"]  # step 2 without its 5-minute wait


def test_escalate_now_after_the_policy_ran_out_pages_the_last_level_again(
    three_steps, open_incident, actor_as
):
    incident = open_incident()
    t0 = incident.next_escalation_at
    for minutes in (0, 5, 15, 30):
        run_escalation_tick(now=t0 + minutes * MIN)
    incident_escalate(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    run_escalation_tick(now=incident.next_escalation_at)
    assert recipients(incident) == ["operator", "manager", "Ops", "Ops"]


def test_snooze_pauses_and_its_end_resumes_escalation(three_steps, open_incident, actor_as):
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    incident_snooze(actor=actor_as("operator"), incident=incident, until=timezone.now() + 10 * MIN)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert run_escalation_tick(now=timezone.now() + 20 * MIN).steps == 0
    incident_unsnooze(actor=actor_as("operator"), incident=incident)  # what the beat does at expiry
    incident.refresh_from_db()
    run_escalation_tick(now=incident.next_escalation_at)
    assert recipients(incident) == ["operator", "manager"]


def test_no_policy_is_recorded_and_stops(open_incident):
    incident = open_incident()
    run_escalation_tick(now=incident.next_escalation_at)
    incident.refresh_from_db()
    assert incident.next_escalation_at is None
    assert LedgerEntry.objects.filter(target_id=str(incident.pk), verb="escalation.no_policy").count() == 1


def test_a_step_that_runs_again_under_the_same_epoch_inserts_nothing(three_steps, open_incident):
    """The idempotency key fences a re-run: rewind the position as a duplicate would see it."""
    incident = open_incident()
    t0 = incident.next_escalation_at
    run_escalation_tick(now=t0)
    Incident.objects.filter(pk=incident.pk).update(escalation_step=0, next_escalation_at=t0)
    run_escalation_tick(now=t0)
    assert Notification.objects.filter(incident=incident).count() == 1


def test_stale_timer_on_an_acknowledged_incident_is_cleared(three_steps, open_incident, actor_as):
    incident = open_incident()
    incident_acknowledge(actor=actor_as("operator"), incident=incident)
    Incident.objects.filter(pk=incident.pk).update(next_escalation_at=timezone.now())
    assert run_escalation_tick(now=timezone.now()).steps == 0
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_never_run_the_same_step_twice(org, users, service, open_incident):
    make_policy(
        org, step(("user", users["operator"]), ("user", users["manager"]), delay=5), services=[service]
    )
    incidents = [open_incident(title=f"Incident {n}") for n in range(40)]
    now = max(i.next_escalation_at for i in incidents)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def tick():
        try:
            barrier.wait()
            # Small batches so the two ticks interleave batch by batch.
            results.append(run_escalation_tick(now=now, batch_size=5))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.steps for r in results) == 40
    assert all(r.steps for r in results), "both ticks did part of the work"
    for incident in incidents:
        assert steps_run(incident) == [(1, 1)]
        assert sorted(recipients(incident)) == ["manager", "operator"]
    assert Notification.objects.count() == 80


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_racing_for_one_incident(org, users, service, open_incident):
    make_policy(org, step(("user", users["operator"]), delay=5), services=[service])
    incident = open_incident()
    now = incident.next_escalation_at
    barrier = threading.Barrier(4)

    def tick():
        try:
            barrier.wait()
            run_escalation_tick(now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert steps_run(incident) == [(1, 1)]
    assert Notification.objects.count() == 1
