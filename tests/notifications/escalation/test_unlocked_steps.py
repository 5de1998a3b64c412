"""An escalation tick works out its steps with no incident row locked (``notifications.escalation
.claims``): a repeat of the incident is counted and an operator acknowledges it meanwhile without
waiting for the tick, and a step whose incident changed meanwhile is not written."""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test import Client

from incidents.ingest.services import integration_create
from incidents.models import Incident
from incidents.services import incident_acknowledge
from notifications.escalation import claims, run_escalation_tick, tick
from notifications.escalation.targets import BatchReads
from notifications.models import Notification
from opsplatform.core.actors import Actor
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.notifications.factories import make_policy, step
from tests.notifications.ticks import recipients, steps_run

pytestmark = pytest.mark.django_db(transaction=True)


class PausedTick:
    """A tick in a thread of its own, stopped while it works out its steps (in ``BatchReads``'s
    preload), until ``go`` is called."""

    def __init__(self, monkeypatch, now):
        self.reading, self.resume = threading.Event(), threading.Event()
        self.result, self.error = None, None
        paused = self

        class Paused(BatchReads):
            def preload(self, incidents):
                super().preload(incidents)
                paused.reading.set()
                assert paused.resume.wait(30)

        monkeypatch.setattr(tick, "BatchReads", Paused)
        self.thread = threading.Thread(target=self._run, args=(now,))
        self.thread.start()
        assert self.reading.wait(30), "the tick never got to its steps"

    def _run(self, now):
        try:
            self.result = run_escalation_tick(now=now)
        except Exception as exc:  # surfaced by go()
            self.error = exc
        finally:
            connection.close()

    def go(self):
        self.resume.set()
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, self.error
        return self.result


@pytest.fixture
def lock_timeout():
    """Returns a function: from its call on, waiting for a lock fails this connection's statements
    after 2 s instead of hanging (reset after the test)."""

    def set_it():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")

    yield set_it
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@pytest.fixture
def paging(org, users, service):
    return make_policy(org, step(("user", users["operator"]), delay=5), services=[service])


@pytest.fixture
def pagerduty(org, service):
    issued = integration_create(
        actor=Actor.system("test", organization=org), name="PagerDuty", kind="pagerduty", service=service
    )
    return issued.key


def test_a_repeat_is_counted_while_its_step_is_worked_out(paging, pagerduty, monkeypatch, lock_timeout):
    client = Client()
    assert post(client, "/v2/enqueue", pd_trigger(pagerduty, dedup_key="disk")).status_code == 202
    incident = Incident.objects.get(dedup_key="disk")
    paused = PausedTick(monkeypatch, incident.next_escalation_at)
    try:
        lock_timeout()
        for _ in range(3):
            assert post(client, "/v2/enqueue", pd_trigger(pagerduty, dedup_key="disk")).status_code == 202
        incident.refresh_from_db()
        assert incident.alert_occurrences == 4  # counted while the tick still works on the step
        assert recipients(incident) == []
    finally:
        result = paused.go()
    assert result.steps == 1
    assert recipients(incident) == ["operator"]
    assert steps_run(incident) == [(1, 1)]


def test_an_acknowledgement_meanwhile_stops_the_step_being_written(
    paging, open_incident, actor_as, monkeypatch, lock_timeout
):
    incident = open_incident()
    other = open_incident(title="Payments slow")
    now = max(incident.next_escalation_at, other.next_escalation_at)
    paused = PausedTick(monkeypatch, now)
    try:
        lock_timeout()
        incident_acknowledge(actor=actor_as("operator"), incident=incident)
    finally:
        result = paused.go()
    # Only the other incident's step is written; the acknowledged one pages nobody.
    assert result.steps == 1 and result.incidents == 1
    assert recipients(incident) == [] and steps_run(incident) == []
    assert recipients(other) == ["operator"] and steps_run(other) == [(1, 1)]
    incident.refresh_from_db()
    assert incident.next_escalation_at is None and incident.escalation_step == 0
    # Nothing of it is left for a later tick either.
    assert run_escalation_tick(now=now).steps == 0
    assert Notification.objects.filter(incident=incident).count() == 0


def test_a_tick_beside_another_takes_other_incidents(paging, open_incident, monkeypatch):
    incidents = [open_incident(title=f"Incident {n}") for n in range(6)]
    now = max(incident.next_escalation_at for incident in incidents)
    paused = PausedTick(monkeypatch, now)  # claims the whole batch of 6... (batch size 100)
    try:
        # ...so a second tick finds nothing of its own, and returns at once without waiting.
        monkeypatch.setattr(tick, "BatchReads", BatchReads)
        assert run_escalation_tick(now=now).steps == 0
    finally:
        assert paused.go().steps == 6
    assert [steps_run(incident) for incident in incidents] == [[(1, 1)]] * 6


def test_claims_are_given_back_when_the_tick_fails(paging, open_incident, monkeypatch):
    incident = open_incident()

    def broken(self, incidents):
        raise RuntimeError("the database went away mid-batch")

    monkeypatch.setattr(BatchReads, "preload", broken)
    with pytest.raises(RuntimeError):
        run_escalation_tick(now=incident.next_escalation_at)
    assert _claims_held() == 0
    monkeypatch.undo()
    assert run_escalation_tick(now=incident.next_escalation_at).steps == 1
    assert recipients(incident) == ["operator"]


def test_a_session_that_cannot_give_its_claims_back_is_ended(paging, open_incident, monkeypatch):
    """Kept, the claims would hide their incidents from every other tick (and, pooled, the
    connection would carry them on to its next borrower)."""
    incident = open_incident()
    monkeypatch.setattr(claims, "_UNCLAIM", "SELECT no_such_function(%s, %s)")
    session = _backend_pid()
    assert run_escalation_tick(now=incident.next_escalation_at).steps == 1
    assert _backend_pid() != session  # the tick's session was ended, not given back
    assert _claims_held() == 0
    assert recipients(incident) == ["operator"]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _claims_held() -> int:
    """Escalation claims held in this database, by any session."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [claims.CLAIM_NAMESPACE],
        )
        return cursor.fetchone()[0]


def test_a_held_incident_is_waited_for_alone(paging, open_incident):
    """The batch's steps are written for the incidents no one holds; the tick then waits for the
    one another transaction holds (a repeat being counted), and writes its step once it is free."""
    free = open_incident(title="Checkout errors")
    held = open_incident(title="Payments slow")
    now = max(free.next_escalation_at, held.next_escalation_at)
    params = connection.get_connection_params()
    wanted = ("dbname", "user", "password", "host", "port")
    with psycopg.connect(**{k: v for k, v in params.items() if k in wanted}) as other:
        other.execute("SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE", [held.pk])
        results = []
        ticking = threading.Thread(target=lambda: results.append(_tick_and_close(now)))
        ticking.start()
        deadline = time.monotonic() + 20
        while not Notification.objects.filter(incident=free).exists():
            assert time.monotonic() < deadline, "the free incident waited for the held one"
            time.sleep(0.05)
        assert ticking.is_alive()  # waiting for the held one
        assert recipients(held) == []
        other.rollback()
    ticking.join(30)
    assert results and results[0].steps == 2
    assert recipients(free) == ["operator"] and recipients(held) == ["operator"]
    assert steps_run(free) == [(1, 1)] and steps_run(held) == [(1, 1)]


def _tick_and_close(now):
    try:
        return run_escalation_tick(now=now)
    finally:
        connection.close()
