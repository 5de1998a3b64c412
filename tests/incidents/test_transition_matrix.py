"""Every action from every state, through the real services, against an expected table written out
by hand (not derived from incidents/state.py, so a wrong entry there fails here)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Incident
from incidents.state import TransitionError

T, A, S, R = "triggered", "acknowledged", "snoozed", "resolved"
NOOP, ERROR = "no-op", "error"

EXPECTED = {
    "acknowledge": {T: A, A: NOOP, S: A, R: ERROR},
    "resolve": {T: R, A: R, S: R, R: NOOP},
    "snooze": {T: S, A: S, S: S, R: ERROR},
    "unsnooze": {T: NOOP, A: NOOP, S: T, R: NOOP},
    "reopen": {T: NOOP, A: NOOP, S: NOOP, R: T},
    "escalate": {T: T, A: T, S: ERROR, R: ERROR},
}


def call(action, actor, incident):
    if action == "snooze":
        return services.incident_snooze(
            actor=actor, incident=incident, until=timezone.now() + timedelta(hours=1)
        )
    return getattr(services, f"incident_{action}")(actor=actor, incident=incident)


def put_in(incident, status):
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(
        status=status,
        resolved_at=now if status == R else None,
        snoozed_until=now + timedelta(hours=1) if status == S else None,
        snoozed_at=now if status == S else None,
    )
    incident.refresh_from_db()


CASES = [(action, start, outcome) for action, row in EXPECTED.items() for start, outcome in row.items()]


@pytest.mark.parametrize(("action", "start", "outcome"), CASES, ids=[f"{a}-from-{s}" for a, s, _ in CASES])
def test_transition(incident, actor_as, action, start, outcome):
    put_in(incident, start)
    entries = LedgerEntry.objects.filter(target_id=str(incident.pk))
    before = entries.count()
    if outcome == ERROR:
        with pytest.raises(TransitionError):
            call(action, actor_as("operator"), incident)
    else:
        call(action, actor_as("operator"), incident)
    incident.refresh_from_db()
    if outcome in (ERROR, NOOP):
        assert incident.status == start
        assert entries.count() == before  # refused or already done: nothing recorded
    else:
        assert incident.status == outcome
        assert entries.count() == before + 1
