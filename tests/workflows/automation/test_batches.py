"""Due executions run in batches: a failing action rolls back alone, every action runs once however
many workers share the rows, a chunk never deadlocks with a person editing one of its incidents,
and the tick keeps going until the backlog is drained."""

import asyncio
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from audit.verification import verify_chain
from incidents.models import Incident
from incidents.services import incident_resolve, incident_update
from opsplatform.realtime.groups import organization_group
from tests.incidents.ingest.test_group_commit import _another_connection
from tests.ledger import entries
from tests.statements import sent
from workflows.automation import actions
from workflows.automation.consumer import consume
from workflows.automation.models import AutomationExecution, ExecutionState
from workflows.automation.runner import LEASE, claim, run_batches, run_claimed, run_due
from workflows.automation.tick import DRAIN_KEY, run_automation_tick
from workflows.models import Notice
from workflows.services import notices

S = ExecutionState


async def _drain(layer, channel) -> list[dict]:
    events = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=1)
        except TimeoutError:
            return events
        events.append(message["event"])


@pytest.mark.django_db
def test_a_failing_action_rolls_back_alone_and_the_others_commit(
    make_rule, trigger, actor_as, org, django_capture_on_commit_callbacks
):
    rule = make_rule()
    first, closed, third = trigger("one"), trigger("two"), trigger("three")
    consume()
    incident_resolve(actor=actor_as("operator"), incident=closed)  # an edit is refused from now on
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(organization_group(org.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            counts = run_due()
        pushed = async_to_sync(_drain)(layer, channel)
    finally:
        async_to_sync(layer.group_discard)(organization_group(org.pk), channel)

    assert (counts["succeeded"], counts["failed"]) == (2, 1)
    for incident in (first, third):
        assert Incident.objects.get(pk=incident.pk).priority == "p1"
        assert entries("incident.updated", target=incident).count() == 1
    assert Incident.objects.get(pk=closed.pk).priority == "p3"
    assert entries("incident.updated", target=closed).count() == 0
    failed = AutomationExecution.objects.get(incident=closed)
    assert failed.state == S.FAILED and "resolved" in failed.last_error and failed.finished_at
    assert entries("automation.execution.succeeded", target=rule).count() == 2
    assert entries("automation.execution.failed", target=rule).count() == 1
    # The pushes of the batch went out after commit; the rolled-back action's never did.
    updated = {e["id"] for e in pushed if e.get("kind") == "incident" and e["verb"] == "incident.updated"}
    assert updated == {first.pk, third.pk}
    ledger_verbs = [e["verb"] for e in pushed if e.get("kind") == "ledger"]
    assert ledger_verbs.count("automation.execution.succeeded") == 2
    assert ledger_verbs.count("automation.execution.failed") == 1
    assert ledger_verbs.count("incident.updated") == 2


@pytest.mark.django_db
def test_a_row_another_worker_took_over_is_fenced_out_of_the_chunk(make_rule, trigger):
    make_rule()
    incident = trigger()
    consume()
    now = timezone.now()
    stale = claim(now)  # this worker stalls past its lease …
    taken = claim(now + LEASE + timedelta(seconds=1))  # … and another takes the row over
    assert [attempt for _, attempt in stale] == [1] and [attempt for _, attempt in taken] == [2]
    assert run_claimed(stale, now) == {"fenced": 1}
    assert entries("incident.updated", target=incident).count() == 0
    assert run_claimed(taken, now) == {"succeeded": 1}
    execution = AutomationExecution.objects.get(incident=incident)
    assert (execution.state, execution.attempts) == (S.SUCCEEDED, 2)
    assert entries("incident.updated", target=incident).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_action_exactly_once(make_rule, trigger, org):
    rule = make_rule()
    incidents = [trigger(f"storm {n}") for n in range(120)]
    consume()
    errors, counts = [], []

    def worker():
        try:
            mine = {}
            while ran := run_batches(limit=25):
                for state, n in ran.items():
                    mine[state] = mine.get(state, 0) + n
            counts.append(mine)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(c.get("succeeded", 0) for c in counts) == 120
    executions = AutomationExecution.objects.filter(rule=rule)
    assert executions.count() == 120
    assert set(executions.values_list("state", "attempts")) == {(S.SUCCEEDED, 1)}
    assert Incident.objects.filter(pk__in=[i.pk for i in incidents], priority="p1").count() == 120
    assert entries("incident.updated", organization_id=org.pk).count() == 120
    assert entries("automation.execution.succeeded", target=rule).count() == 120
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_a_person_editing_an_incident_of_the_chunk_does_not_deadlock_with_it(make_rule, trigger, actor_as):
    make_rule()
    first, edited, third = trigger("one"), trigger("two"), trigger("three")
    consume()
    claimed = claim(timezone.now())
    locked, errors = threading.Event(), []

    def person():
        """Holds the incident's row lock first, then appends to the chain (as every service does)."""
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=edited.pk)
                locked.set()
                time.sleep(0.5)
                incident_update(actor=actor_as("operator"), incident=edited, title="Renamed by a person")
        except Exception as exc:
            errors.append(exc)
        finally:
            locked.set()
            connection.close()

    thread = threading.Thread(target=person)
    with connection.cursor() as cursor:
        # Were there a lock cycle, PostgreSQL would pick the person's transaction to break it.
        cursor.execute("SET deadlock_timeout = '10s'")
    try:
        thread.start()
        assert locked.wait(10)
        counts = run_claimed(claimed)
    finally:
        thread.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET deadlock_timeout")
    assert not errors, errors
    assert counts == {"succeeded": 3}
    assert Incident.objects.get(pk=edited.pk).title == "Renamed by a person"
    for incident in (first, edited, third):
        assert Incident.objects.get(pk=incident.pk).priority == "p1"


@pytest.mark.django_db
def test_the_tick_goes_on_until_drained_and_only_one_tick_loops(make_rule, trigger):
    make_rule()
    first = [trigger(f"first {n}") for n in range(3)]
    result = run_automation_tick()
    # A pass that did the work, then one that found nothing left.
    assert (result["succeeded"], result["passes"]) == (3, 2)
    assert set(AutomationExecution.objects.filter(incident__in=first).values_list("state", flat=True)) == {
        S.SUCCEEDED
    }

    # Another tick is looping: this one makes its single pass (still doing what is due) and returns.
    assert cache.add(DRAIN_KEY, "another tick", timeout=60)
    try:
        later = trigger("later")
        result = run_automation_tick()
    finally:
        cache.delete(DRAIN_KEY)
    assert (result["succeeded"], result["passes"]) == (1, 1)
    assert AutomationExecution.objects.get(incident=later).state == S.SUCCEEDED


@pytest.mark.django_db
def test_a_chunk_out_of_time_leaves_the_rest_to_the_next_one(make_rule, trigger, org, monkeypatch):
    from workflows.automation import chunks

    rule = make_rule()
    incidents = [trigger(f"slow {n}") for n in range(3)]
    consume()
    # No time at all: each chunk runs its first action only (a chunk always makes progress).
    monkeypatch.setattr(chunks, "CHUNK_SECONDS", 0)
    assert run_due() == {"approvals": 0, "succeeded": 3}
    assert set(AutomationExecution.objects.filter(rule=rule).values_list("state", "attempts")) == {
        (S.SUCCEEDED, 1)
    }
    for incident in incidents:
        assert entries("incident.updated", target=incident).count() == 1
    assert entries("automation.execution.succeeded", target=rule).count() == 3
    # Three transactions, each with its change and then its execution's entry (one chunk of three
    # would have written the three changes first).
    written = entries(organization_id=org.pk, verb__in=["incident.updated", "automation.execution.succeeded"])
    assert (
        list(written.values_list("verb", flat=True))
        == ["incident.updated", "automation.execution.succeeded"] * 3
    )
    assert verify_chain(org.pk).intact


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action", "holds"),
    [
        ({"type": "create_task", "title": "Check the payment dashboards"}, False),
        ({"type": "set_priority", "priority": "p1"}, True),
    ],
)
def test_a_chunk_holds_its_incident_only_as_firmly_as_its_action_needs(
    make_rule, trigger, monkeypatch, action, holds
):
    """Ingestion's lock on an incident (FOR NO KEY UPDATE) passes a chunk that only adds a task to it,
    and waits for one that changes it."""
    make_rule(actions=[action])
    incident = trigger("one")
    consume()
    claimed = claim(timezone.now())
    inside, release, counts = threading.Event(), threading.Event(), []
    real = actions.perform

    def perform(execution):
        outcome = real(execution)
        inside.set()
        release.wait(10)
        return outcome

    def chunk():
        try:
            counts.append(run_claimed(claimed))
        finally:
            connection.close()

    monkeypatch.setattr(actions, "perform", perform)
    thread = threading.Thread(target=chunk)
    thread.start()
    other = _another_connection()
    try:
        assert inside.wait(10)
        other.execute("SET lock_timeout = '1s'")
        try:
            other.execute("SELECT id FROM incidents_incident WHERE id = %s FOR NO KEY UPDATE", [incident.pk])
            waited = False
        except psycopg.errors.LockNotAvailable:
            waited = True
        other.rollback()
    finally:
        release.set()
        thread.join(30)
        other.close()
    assert waited is holds
    assert counts == [{"succeeded": 1}]


@pytest.mark.django_db
def test_a_chunk_asks_once_who_its_notices_go_to(make_rule, trigger, users):
    """Three incidents, each telling "the operators": the chunk reads the operators, their contact
    methods and their addresses once, and still queues each incident's notices."""
    make_rule(actions=[{"type": "notify", "people": {"roles": ["operator", "viewer"]}}])
    incidents = [trigger(f"Payment API failing {n}") for n in range(3)]
    consume()

    with sent() as statements:
        assert run_due()["succeeded"] == 3

    reads = [sql for sql in statements if sql.startswith("SELECT")]
    assert sum('FROM "accounts_membership"' in sql for sql in reads) == 2  # roles, then who is active
    assert sum('FROM "notifications_notificationrule"' in sql for sql in reads) == 1
    assert sum('FROM "accounts_user"' in sql for sql in reads) == 1
    wanted = sorted(users[role].pk for role in ("operator", "viewer"))
    for incident in incidents:
        execution = AutomationExecution.objects.get(incident=incident)
        assert execution.outcome == {"recipients": wanted}
        queued = Notice.objects.filter(execution=execution)
        assert sorted(queued.values_list("recipient_id", flat=True)) == wanted
    # Outside a chunk nothing is remembered: the next notice reads them again.
    with sent() as statements:
        notices.enqueue(
            organization_id=incidents[0].organization_id, kind="automation", recipients=wanted, key="a"
        )
    assert sum('FROM "notifications_notificationrule"' in sql for sql in statements) == 1


@pytest.mark.django_db
def test_a_chunk_whose_actions_all_succeed_takes_no_savepoint_per_action(make_rule, trigger):
    """A savepoint and its release are two round trips per action, for nothing when none fails:
    only the priority change's own (``incident_update``) remain."""
    make_rule()
    incidents = [trigger(f"Payment API failing {n}") for n in range(4)]
    consume()

    with sent() as statements:
        assert run_due()["succeeded"] == 4

    # The claim's and the chunk's transactions (savepoints inside the test's own transaction) and
    # each priority change's; none per action.
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 2 + 4
    for incident in incidents:
        assert Incident.objects.get(pk=incident.pk).priority == "p1"
        assert entries("incident.updated", target=incident).count() == 1
