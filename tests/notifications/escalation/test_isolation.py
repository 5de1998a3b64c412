"""One incident whose step fails never holds up the others of its tick: the healthy ones are paged
once and move on, the failing one is retried with backoff (a ledger entry per attempt), then moved
past the broken step, and parked only when even that fails. The failures come from broken stored
data (a team time zone that no longer exists, a channel recipient longer than its column), the way
an upgrade or a hand edit of the database leaves it."""

from datetime import timedelta

import pytest
from django.db import connection

from incidents.models import Incident
from incidents.services import incident_escalate
from notifications.escalation import run_escalation_tick, tick
from notifications.escalation.failures import MAX_STEP_ATTEMPTS, STEP_RETRY_SECONDS
from notifications.escalation.targets import BatchReads
from notifications.models import Channel, Notification
from opsplatform.accounts.models import Team
from tests.incidents.factories import ServiceFactory
from tests.ledger import entries, verbs
from tests.notifications.factories import make_channel, make_policy, make_schedule, step
from tests.notifications.ticks import recipients, steps_run

MIN = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def healthy(org, users, service):
    return make_policy(org, step(("user", users["operator"]), delay=5), name="Healthy", services=[service])


@pytest.fixture
def broken_team(org, users):
    """A team whose stored time zone no longer exists (valid when written, since removed)."""
    team = Team.objects.create(organization=org, name="Search", slug="search", time_zone="Europe/Paris")
    team.members.add(users["admin"])
    return team


@pytest.fixture
def broken_schedule(org, broken_team, users):
    schedule = make_schedule(
        org, broken_team, name="Search rota", layers=[{"participants": [users["admin"]]}]
    )
    Team.objects.filter(pk=broken_team.pk).update(time_zone="Mars/Olympus_Mons")
    return schedule


@pytest.fixture
def search(org, broken_team):
    return ServiceFactory(organization=org, name="Search", slug="search", owner_team=broken_team)


@pytest.fixture
def broken(org, users, search, broken_schedule):
    """First level: whoever is on call in the broken schedule; second level: the manager."""
    return make_policy(
        org,
        step(("schedule", broken_schedule), delay=5),
        step(("user", users["manager"]), delay=5),
        name="Broken",
        services=[search],
    )


@pytest.fixture
def two_due(healthy, broken, open_incident, search):
    """The broken incident is claimed first, so a failure that stopped the batch would stop both."""
    bad = open_incident(title="Search down", service=search)
    good = open_incident(title="Checkout errors")
    now = max(bad.next_escalation_at, good.next_escalation_at)
    return bad, good, now


def failures(incident):
    return list(entries("escalation.step_failed", target=incident))


def test_a_failing_step_does_not_stop_or_repeat_the_others(two_due):
    bad, good, now = two_due
    result = run_escalation_tick(now=now)

    assert result.steps == 1
    assert recipients(good) == ["operator"]
    good.refresh_from_db()
    assert (good.escalation_step, good.next_escalation_at) == (1, now + 5 * MIN)
    assert steps_run(good) == [(1, 1)]

    # The failing one paged nobody, kept its position, and is due again after the first backoff.
    assert recipients(bad) == []
    bad.refresh_from_db()
    assert bad.escalation_step == 0
    assert bad.next_escalation_at == now + timedelta(seconds=STEP_RETRY_SECONDS[0])
    [failure] = failures(bad)
    assert failure.data["attempt"] == 1
    assert failure.data["error"] == "ZoneInfoNotFoundError"
    assert failure.data["step"] == 1
    assert failure.data["retry_at"] == bad.next_escalation_at.isoformat()

    # The retry: the healthy incident is not due and is not paged again; the bad one fails again.
    run_escalation_tick(now=bad.next_escalation_at)
    assert recipients(good) == ["operator"]
    assert [f.data["attempt"] for f in failures(bad)] == [1, 2]


def test_a_step_that_fails_runs_once_its_data_is_repaired(two_due, broken_team, users):
    bad, good, now = two_due
    run_escalation_tick(now=now)
    Team.objects.filter(pk=broken_team.pk).update(time_zone="Europe/Paris")
    bad.refresh_from_db()
    retry = bad.next_escalation_at
    assert run_escalation_tick(now=retry).steps == 1
    assert recipients(bad) == ["admin"]
    bad.refresh_from_db()
    assert (bad.escalation_step, bad.next_escalation_at) == (1, retry + 5 * MIN)
    # Later ticks page nobody twice.
    run_escalation_tick(now=retry)
    assert recipients(bad) == ["admin"] and recipients(good) == ["operator"]


def test_after_the_last_attempt_the_escalation_moves_past_the_broken_step(two_due):
    bad, _, now = two_due
    t = now
    for attempt in range(1, MAX_STEP_ATTEMPTS + 1):
        run_escalation_tick(now=t)
        bad.refresh_from_db()
        assert len(failures(bad)) == attempt
        t = bad.next_escalation_at
    last = failures(bad)[-1].data
    assert last["attempt"] == MAX_STEP_ATTEMPTS and last["retry_at"] is None
    assert "escalation.step_skipped" in verbs(bad)
    # Moved on at once: the broken level paged nobody, so there is nothing to wait for.
    assert bad.escalation_step == 1 and t is not None
    run_escalation_tick(now=t)
    assert recipients(bad) == ["manager"]
    assert steps_run(bad) == [(2, 1)]


def test_escalate_now_starts_the_attempts_afresh(two_due, actor_as):
    bad, _, now = two_due
    run_escalation_tick(now=now)
    run_escalation_tick(now=now + timedelta(seconds=STEP_RETRY_SECONDS[0]))
    incident_escalate(actor=actor_as("operator"), incident=bad)
    bad.refresh_from_db()
    run_escalation_tick(now=bad.next_escalation_at)
    assert [f.data["attempt"] for f in failures(bad)] == [1, 2, 1]


def test_a_row_the_outbox_refuses_fails_its_incident_only(org, service, open_incident, healthy, users):
    """A Twilio recipient longer than its column: the whole batch's insert fails, so each incident's
    rows are written on their own and only the bad one's are refused."""
    sms = make_channel(
        org,
        kind="twilio_sms",
        name="On-call phones",
        account_sid="AC" + "0" * 32,
        auth_token="secret-token",
        from_number="+15550000000",
        recipients=["+15550000001"],
    ).channel
    Channel.objects.filter(pk=sms.pk).update(config={**sms.config, "recipients": ["+1" + "5" * 400]})
    other = ServiceFactory(organization=org, name="Search", slug="search-sms", owner_team=service.owner_team)
    make_policy(org, step(("channel", sms)), name="Phones", services=[other])
    bad = open_incident(title="Search down", service=other)
    good = open_incident(title="Checkout errors")
    now = max(bad.next_escalation_at, good.next_escalation_at)

    run_escalation_tick(now=now)

    assert recipients(good) == ["operator"]
    assert not Notification.objects.filter(incident=bad).exists()
    assert [f.data["error"] for f in failures(bad)] == ["DataError"]
    bad.refresh_from_db()
    assert bad.escalation_step == 0 and bad.next_escalation_at > now


def test_an_escalation_that_cannot_even_move_on_is_parked(two_due, monkeypatch):
    """The plan itself cannot be read (no stored data provokes that, so one lookup is made to fail
    for the bad incident): after the last attempt the timer is cleared with a ledger entry saying
    so, instead of failing every few minutes for ever. A human's "escalate now" starts it again."""
    bad, good, now = two_due
    plan_for = BatchReads.plan_for

    def unreadable(self, incident):
        if incident.pk == bad.pk:
            raise RuntimeError("plan unreadable")
        return plan_for(self, incident)

    monkeypatch.setattr(BatchReads, "plan_for", unreadable)
    t = now
    for _ in range(MAX_STEP_ATTEMPTS):
        run_escalation_tick(now=t)
        bad.refresh_from_db()
        t = bad.next_escalation_at
    assert t is None
    assert verbs(bad)[-1] == "escalation.parked"
    assert Incident.objects.get(pk=bad.pk).status == "triggered"
    assert recipients(good) == ["operator"] and recipients(bad) == []
    # Parked: later ticks leave it alone.
    run_escalation_tick(now=now + 60 * MIN)
    assert len(failures(bad)) == MAX_STEP_ATTEMPTS
    assert verbs(bad).count("escalation.parked") == 1


def test_steps_run_without_a_savepoint_each(healthy, open_incident):
    """A savepoint and its release are two round trips per incident; a step that runs no statement
    needs neither."""
    due = [open_incident(title=f"Checkout errors {n}") for n in range(3)]
    now = max(incident.next_escalation_at for incident in due)
    statements = []

    def collect(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(collect):
        run_escalation_tick(now=now)

    # The batch's reads and its write (the test's own transaction surrounds them), and the outbox
    # rows' insert; none per incident.
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 3
    assert [recipients(incident) for incident in due] == [["operator"]] * 3


def test_a_step_failing_after_a_statement_runs_the_batch_again_with_savepoints(two_due, monkeypatch):
    bad, good, now = two_due
    bad.refresh_from_db()
    Team.objects.filter(time_zone="Mars/Olympus_Mons").update(time_zone="Europe/Paris")  # not that way
    real = tick._advance
    calls = []

    def failing_in_the_database(incident, *args, **kwargs):
        calls.append(incident.pk)
        if incident.pk == bad.pk:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")  # aborts the transaction, savepoint or not
        return real(incident, *args, **kwargs)

    monkeypatch.setattr(tick, "_advance", failing_in_the_database)
    result = run_escalation_tick(now=now)

    # Claimed first, the bad one fails; the batch runs again, in savepoints, and the good one
    # runs only then.
    assert calls == [bad.pk, bad.pk, good.pk]
    assert result.steps == 1
    assert recipients(good) == ["operator"]  # paged once
    assert steps_run(good) == [(1, 1)]
    assert recipients(bad) == []
    [failure] = failures(bad)
    assert failure.data["attempt"] == 1 and failure.data["error"] == "DataError"
