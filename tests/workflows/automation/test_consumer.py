"""The consumer: each action once per (rule, event), whatever the number of reads or crashes."""

import pytest

from incidents.models import Incident
from tests.ledger import entries
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationCursor, AutomationExecution, ExecutionState
from workflows.automation.runner import run_due
from workflows.automation.tick import run_automation_tick

pytestmark = pytest.mark.django_db

SEV1_PAYMENTS = {
    "match": "all",
    "groups": [
        {
            "match": "all",
            "matchers": [
                {"field": "severity", "op": "equals", "value": "sev1"},
                {"field": "service", "op": "equals", "value": "payments"},
            ],
        }
    ],
}


class Crash(Exception):
    pass


def test_rule_fires_once_per_event_when_the_consumer_runs_twice(make_rule, trigger):
    rule = make_rule(conditions=SEV1_PAYMENTS)
    incident = trigger()
    assert consume() == 1
    assert consume() == 0  # nothing new past the cursor
    # Even reading the same entries again (the cursor set back: at-least-once) plans nothing new.
    AutomationCursor.objects.update(sequence=0)
    consume()
    executions = AutomationExecution.objects.filter(rule=rule)
    assert executions.count() == 1
    run_due()
    run_due()
    execution = executions.get()
    assert execution.state == ExecutionState.SUCCEEDED
    assert execution.attempts == 1
    incident.refresh_from_db()
    assert incident.priority == "p1"
    assert entries("incident.updated", target=incident).count() == 1
    assert entries("automation.execution.succeeded", target=rule).count() == 1


def test_a_crash_mid_batch_rolls_back_and_the_rerun_plans_each_action_once(make_rule, trigger):
    make_rule(actions=[{"type": "set_priority", "priority": "p1"}, {"type": "escalate"}])
    first, second, third = trigger("one"), trigger("two"), trigger("three")
    cursor_before = AutomationCursor.objects.get().sequence
    seen = []

    def crash_after_two(entry):
        seen.append(entry.pk)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        consume(checkpoint=crash_after_two)
    # The executions of the first two entries rolled back with the cursor.
    assert AutomationExecution.objects.count() == 0
    assert AutomationCursor.objects.get().sequence == cursor_before
    consume()
    consume()
    keys = list(AutomationExecution.objects.values_list("incident_id", "action_index"))
    assert sorted(keys) == sorted((i.pk, n) for i in (first, second, third) for n in (0, 1))
    run_due()
    for incident in (first, second, third):
        assert entries("incident.escalated", target=incident).count() == 1
        assert Incident.objects.get(pk=incident.pk).priority == "p1"


def test_conditions_any_all_and_labels(make_rule, trigger):
    rule = make_rule(
        conditions={
            "match": "any",
            "groups": [
                {"match": "all", "matchers": [{"field": "labels.region", "op": "regex", "value": "^eu-"}]},
                {"match": "any", "matchers": [{"field": "priority", "op": "equals", "value": "p1"}]},
            ],
        }
    )
    eu = trigger("eu", labels={"region": "eu-west-1"})
    us = trigger("us", labels={"region": "us-east-1"})
    consume()
    assert list(AutomationExecution.objects.filter(rule=rule).values_list("incident_id", flat=True)) == [
        eu.pk
    ]
    assert us.pk not in AutomationExecution.objects.values_list("incident_id", flat=True)


def test_once_per_incident(make_rule, trigger, actor_as):
    from incidents.services import incident_acknowledge, incident_reopen, incident_resolve

    rule = make_rule(trigger="incident.acknowledged", once_per_incident=True, actions=[{"type": "escalate"}])
    incident = trigger()
    incident_acknowledge(actor=actor_as("operator"), incident=incident)
    incident_resolve(actor=actor_as("operator"), incident=incident)
    incident_reopen(actor=actor_as("operator"), incident=incident)
    incident_acknowledge(actor=actor_as("operator"), incident=incident)
    assert entries("incident.acknowledged", target=incident).count() == 2
    consume()
    assert AutomationExecution.objects.filter(rule=rule).count() == 1


def test_rules_do_not_react_to_automation_and_not_to_the_past(make_rule, trigger):
    old = trigger("before the rule")
    make_rule(trigger="incident.triggered", actions=[{"type": "set_severity", "severity": "sev1"}])
    make_rule(name="on any update", trigger="incident.triggered", actions=[{"type": "escalate"}])
    run_automation_tick()
    assert AutomationExecution.objects.filter(incident=old).count() == 0
    new = trigger("after", severity="sev3")
    run_automation_tick()
    run_automation_tick()
    assert AutomationExecution.objects.filter(incident=new).count() == 2
    new.refresh_from_db()
    assert new.severity == "sev1"


def test_an_incident_action_without_an_incident_is_skipped(make_rule, actor_as, users):
    from workflows.services.task_items import task_create

    rule = make_rule(trigger="task.overdue", actions=[{"type": "escalate"}])
    task = task_create(actor=actor_as("operator"), title="Check it", assignee=users["operator"])
    from datetime import timedelta

    from django.utils import timezone

    from workflows.ticks import run_tasks_overdue_tick

    task.due_at = timezone.now() - timedelta(minutes=1)
    task.save(update_fields=["due_at"])
    run_tasks_overdue_tick()
    run_automation_tick()
    execution = AutomationExecution.objects.get(rule=rule)
    assert execution.state == ExecutionState.SKIPPED
    assert "no incident" in execution.last_error
