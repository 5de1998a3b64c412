"""Edits while incidents escalate, on an explicit clock: replacing the steps keeps each running
escalation at the same position (clamped to the new end, so the remaining rounds still run); removing
a step keeps the next step by identity; a reopened incident starts over at round one."""

from datetime import timedelta

import pytest

from incidents.services import incident_reopen, incident_resolve
from notifications.escalation import run_escalation_tick
from notifications.services.policies import policy_update, step_remove
from tests.notifications.factories import make_policy, step, system
from tests.notifications.ticks import recipients, steps_run

MIN = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_steps(org, users, service):
    return make_policy(
        org,
        step(("user", users["operator"]), delay=5),
        step(("user", users["manager"]), delay=5),
        step(("user", users["admin"]), delay=5),
        repeat_count=1,
        services=[service],
    )


def test_fewer_steps_keep_the_remaining_rounds(org, users, three_steps, open_incident):
    incident = open_incident()
    t0 = incident.next_escalation_at
    for minutes in (0, 5, 10):
        run_escalation_tick(now=t0 + minutes * MIN)
    assert steps_run(incident) == [(1, 1), (2, 1), (3, 1)]
    # Past the new end: the round is over, and the second round still runs in full.
    policy_update(
        actor=system(org),
        policy=three_steps,
        steps=[step(("user", users["operator"]), delay=5), step(("user", users["manager"]), delay=5)],
    )
    for minutes in (15, 20, 25, 30, 35):
        run_escalation_tick(now=t0 + minutes * MIN)
    assert steps_run(incident) == [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2)]
    assert recipients(incident) == ["operator", "manager", "admin", "operator", "manager"]
    incident.refresh_from_db()
    assert incident.next_escalation_at is None  # exhausted after the second round


def test_removing_an_earlier_step_skips_nobody(org, users, three_steps, open_incident):
    incident = open_incident()
    t0 = incident.next_escalation_at
    run_escalation_tick(now=t0)  # operator paged; manager is next
    step_remove(actor=system(org), step=three_steps.steps.get(position=0))
    for minutes in (5, 10):
        run_escalation_tick(now=t0 + minutes * MIN)
    assert recipients(incident)[:3] == ["operator", "manager", "admin"]


def test_removing_the_step_that_is_next_goes_on_with_the_one_after_it(org, users, three_steps, open_incident):
    incident = open_incident()
    t0 = incident.next_escalation_at
    run_escalation_tick(now=t0)
    step_remove(actor=system(org), step=three_steps.steps.get(position=1))
    run_escalation_tick(now=t0 + 5 * MIN)
    assert recipients(incident) == ["operator", "admin"]


def test_removing_the_step_just_run_at_the_start_of_a_round(org, users, three_steps, open_incident):
    incident = open_incident()
    t0 = incident.next_escalation_at
    for minutes in (0, 5, 10, 15):
        run_escalation_tick(now=t0 + minutes * MIN)
    assert steps_run(incident)[-1] == (1, 2)  # operator paged again, round two
    step_remove(actor=system(org), step=three_steps.steps.get(position=0))
    for minutes in (20, 25, 30, 35):
        run_escalation_tick(now=t0 + minutes * MIN)
    assert recipients(incident)[4:] == ["manager", "admin"]
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


def test_a_reopened_incident_gets_every_round_again(org, users, three_steps, open_incident, actor_as):
    incident = open_incident()
    t0 = incident.next_escalation_at
    for minutes in (0, 5, 10, 15):
        run_escalation_tick(now=t0 + minutes * MIN)  # into round two
    incident_resolve(actor=actor_as("operator"), incident=incident)
    incident_reopen(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    t1 = incident.next_escalation_at
    for minutes in range(0, 60, 5):
        run_escalation_tick(now=t1 + minutes * MIN)
    assert steps_run(incident)[4:] == [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]
