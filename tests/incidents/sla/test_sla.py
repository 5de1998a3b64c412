import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Incident, SLAState, Status
from incidents.sla.calendar import AlwaysCalendar, BusinessCalendar
from incidents.sla.policy import policy_for, sla_state
from incidents.sla.tick import run_sla_tick
from opsplatform.core.actors import Actor
from tests.incidents.factories import SLAPolicyFactory
from tests.ledger import verbs

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


def office(tz):
    return BusinessCalendar(tz=tz, start=time(9), end=time(17), days=WEEKDAYS)


def test_business_hours_skip_the_weekend():
    friday_4pm = local(BERLIN, 2026, 6, 12, 16, 0)
    assert office(BERLIN).add(friday_4pm, 2 * 3600) == local(BERLIN, 2026, 6, 15, 10, 0)


def test_business_hours_start_before_opening():
    monday_6am = local(BERLIN, 2026, 6, 15, 6, 0)
    assert office(BERLIN).add(monday_6am, 30 * 60) == local(BERLIN, 2026, 6, 15, 9, 30)


@pytest.mark.parametrize(
    ("tz", "start", "hours", "expected_utc"),
    [
        # Berlin springs forward on Sunday 2026-03-29: Friday is UTC+1, Monday UTC+2.
        (BERLIN, (2026, 3, 27, 16, 30), 1, datetime(2026, 3, 30, 7, 30, tzinfo=UTC)),
        # Berlin falls back on Sunday 2026-10-25: Friday is UTC+2, Monday UTC+1.
        (BERLIN, (2026, 10, 23, 16, 0), 2, datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
        # New York springs forward on Sunday 2026-03-08: Friday is UTC-5, Monday UTC-4.
        (NEW_YORK, (2026, 3, 6, 16, 0), 2, datetime(2026, 3, 9, 14, 0, tzinfo=UTC)),
        # New York falls back on Sunday 2026-11-01: Friday is UTC-4, Monday UTC-5.
        (NEW_YORK, (2026, 10, 30, 16, 0), 2, datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
    ],
)
def test_business_hours_across_dst(tz, start, hours, expected_utc):
    due = office(tz).add(local(tz, *start), hours * 3600)
    assert due == expected_utc
    assert due.astimezone(tz).hour in (9, 10)  # still the start of Monday's working day, local time


@pytest.mark.parametrize(
    ("tz", "start_utc"),
    [
        (BERLIN, datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_always_calendar_counts_real_time_across_dst(tz, start_utc):
    due = AlwaysCalendar().add(start_utc, 3 * 3600)
    assert (due - start_utc) == timedelta(hours=3)
    # The wall clock moved by 2 or 4 hours: the change happened in between.
    wall = due.astimezone(tz).replace(tzinfo=None) - start_utc.astimezone(tz).replace(tzinfo=None)
    assert wall in (timedelta(hours=2), timedelta(hours=4))


def test_business_between_is_inverse_of_add():
    cal = office(NEW_YORK)
    start = local(NEW_YORK, 2026, 10, 29, 15, 0)
    due = cal.add(start, 5 * 3600)
    assert cal.between(start, due) == 5 * 3600


def test_most_specific_policy_wins(org, service, open_incident):
    SLAPolicyFactory(organization=org, name="default")
    SLAPolicyFactory(organization=org, name="sev1", severity="sev1")
    SLAPolicyFactory(organization=org, name="service", service=service)
    exact = SLAPolicyFactory(organization=org, name="service+sev1", service=service, severity="sev1")
    incident = open_incident(severity="sev1")
    assert policy_for(incident) == exact
    assert incident.sla_policy == exact
    other = open_incident(severity="sev3")
    assert other.sla_policy.name == "service"


def _shift_back(incident, minutes):
    """Pretend the incident was opened ``minutes`` ago by moving its clocks, not the wall clock."""
    delta = timedelta(minutes=minutes)
    fields = ["created_at", "ack_due_at", "ack_warn_at", "resolve_due_at", "resolve_warn_at", "sla_next_at"]
    values = {f: getattr(incident, f) - delta for f in fields if getattr(incident, f)}
    Incident.objects.filter(pk=incident.pk).update(**values)
    incident.refresh_from_db()


def sla_verbs(incident):
    return verbs(incident, prefix="incident.sla_")


def test_warning_and_breach_fire_exactly_once(org, open_incident):
    SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60, warning_percent=80)
    incident = open_incident()
    now = timezone.now()
    run_sla_tick(now)
    assert sla_verbs(incident) == []

    _shift_back(incident, 9)  # 90% of the ack target has passed
    run_sla_tick(timezone.now())
    run_sla_tick(timezone.now())
    incident.refresh_from_db()
    assert incident.ack_warned_at is not None
    assert sla_state(incident, timezone.now()) == SLAState.AT_RISK
    assert sla_verbs(incident) == ["incident.sla_ack_warning"]

    _shift_back(incident, 2)
    run_sla_tick(timezone.now())
    run_sla_tick(timezone.now())
    incident.refresh_from_db()
    assert incident.ack_breached_at is not None
    assert sla_state(incident, timezone.now()) == SLAState.BREACHED
    assert sla_verbs(incident) == ["incident.sla_ack_warning", "incident.sla_ack_breached"]
    # The resolve clock keeps running after the ack breach; the next timer is its warning.
    assert incident.sla_next_at == incident.resolve_warn_at


def test_acknowledging_in_time_stops_the_ack_clock(org, open_incident, actor_as):
    SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60)
    incident = open_incident()
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    _shift_back(incident, 11)
    run_sla_tick(timezone.now())
    incident.refresh_from_db()
    assert incident.ack_breached_at is None
    assert incident.sla_next_at == incident.resolve_warn_at
    services.incident_resolve(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.sla_next_at is None
    assert sla_state(incident, timezone.now()) == SLAState.MET


def test_snoozed_time_does_not_count(org, open_incident, actor_as):
    SLAPolicyFactory(
        organization=org, ack_target_minutes=10, resolve_target_minutes=60, pause_while_snoozed=True
    )
    incident = open_incident()
    services.incident_snooze(
        actor=actor_as("operator"), incident=incident, until=timezone.now() + timedelta(hours=1)
    )
    incident.refresh_from_db()
    assert incident.sla_next_at is None  # paused: the tick has nothing to do
    # Snoozed 30 minutes ago, two minutes after opening: 8 minutes of the ack target remain.
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(
        snoozed_at=now - timedelta(minutes=30), ack_due_at=now - timedelta(minutes=22)
    )
    run_sla_tick(now)
    incident.refresh_from_db()
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.ack_breached_at is None
    remaining = incident.ack_due_at - incident.acknowledged_at
    assert timedelta(minutes=7, seconds=55) < remaining <= timedelta(minutes=8, seconds=1)


def test_snooze_counts_when_policy_does_not_pause(org, open_incident, actor_as):
    SLAPolicyFactory(
        organization=org, ack_target_minutes=10, resolve_target_minutes=60, pause_while_snoozed=False
    )
    incident = open_incident()
    services.incident_snooze(
        actor=actor_as("operator"), incident=incident, until=timezone.now() + timedelta(hours=1)
    )
    incident.refresh_from_db()
    assert incident.sla_next_at == incident.ack_warn_at
    _shift_back(incident, 11)
    run_sla_tick(timezone.now())
    incident.refresh_from_db()
    assert incident.status == Status.SNOOZED
    assert incident.ack_breached_at is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_mark_each_event_once(org, users, service):
    SLAPolicyFactory(organization=org, ack_target_minutes=10, resolve_target_minutes=60)
    actor = Actor.for_member(users["operator"], org)
    incidents = [services.incident_create(actor=actor, service=service, title=f"i{n}") for n in range(30)]
    for incident in incidents:
        _shift_back(incident, 11)
    barrier = threading.Barrier(3)

    def tick():
        barrier.wait()
        try:
            run_sla_tick(timezone.now())
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [str(i.pk) for i in incidents]
    entries = LedgerEntry.objects.filter(target_id__in=ids, verb__startswith="incident.sla_")
    assert entries.filter(verb="incident.sla_ack_warning").count() == 30
    assert entries.filter(verb="incident.sla_ack_breached").count() == 30
