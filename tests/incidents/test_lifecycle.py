import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import override_settings
from django.utils import timezone

from audit.models import LedgerEntry
from incidents import services
from incidents.models import Alert, Incident, Status
from incidents.state import TransitionError
from opsplatform.core.actors import Actor
from tests.ledger import verbs


def ledger_verbs(incident):
    return verbs(incident)


def set_status(incident, status):
    Incident.objects.filter(pk=incident.pk).update(
        status=status, resolved_at=timezone.now() if status == Status.RESOLVED else None
    )
    incident.refresh_from_db()
    return incident


def test_create_starts_triggered_with_escalation_timer_and_ledger(incident, service, team):
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.team == team  # defaulted from the service's owner
    assert incident.severity == service.default_severity
    assert incident.next_escalation_at is not None
    assert ledger_verbs(incident) == ["incident.triggered"]


def test_service_in_maintenance_pages_nobody(actor_as, service):
    service.in_maintenance = True
    service.save()
    incident = services.incident_create(
        actor=actor_as("operator"), service=service, title="During maintenance"
    )
    assert incident.next_escalation_at is None


def test_acknowledge_records_who_and_stops_escalation(incident, actor_as, users):
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == users["operator"]
    assert incident.acknowledged_at is not None
    assert incident.next_escalation_at is None
    assert ledger_verbs(incident) == ["incident.triggered", "incident.acknowledged"]


def test_already_done_transition_is_a_noop(incident, actor_as):
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    first = Incident.objects.get(pk=incident.pk).acknowledged_at
    services.incident_acknowledge(actor=actor_as("admin"), incident=incident)
    incident.refresh_from_db()
    assert incident.acknowledged_at == first
    assert ledger_verbs(incident).count("incident.acknowledged") == 1


def test_resolve_with_note(incident, actor_as, users):
    services.incident_resolve(actor=actor_as("operator"), incident=incident, note="Rolled back v2.3")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolved_by == users["operator"]
    assert incident.resolution_note == "Rolled back v2.3"
    assert incident.next_escalation_at is None
    entry = LedgerEntry.objects.get(verb="incident.resolved", target_id=str(incident.pk))
    assert entry.data == {"note": "Rolled back v2.3"}


INVALID = [
    ("acknowledge", Status.RESOLVED),
    ("snooze", Status.RESOLVED),
    ("escalate", Status.RESOLVED),
    ("escalate", Status.SNOOZED),
    ("reopen", None),  # reopen of an open incident is a no-op, checked separately
]


@pytest.mark.parametrize(("action", "status"), [(a, s) for a, s in INVALID if s is not None], ids=str)
def test_invalid_transitions_are_clear_errors(incident, actor_as, action, status):
    set_status(incident, status)
    actor = actor_as("operator")
    calls = {
        "acknowledge": lambda: services.incident_acknowledge(actor=actor, incident=incident),
        "snooze": lambda: services.incident_snooze(
            actor=actor, incident=incident, until=timezone.now() + timedelta(hours=1)
        ),
        "escalate": lambda: services.incident_escalate(actor=actor, incident=incident),
    }
    before = LedgerEntry.objects.count()
    with pytest.raises(TransitionError, match=f"Cannot {action}"):
        calls[action]()
    incident.refresh_from_db()
    assert incident.status == status
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize("status", [Status.TRIGGERED, Status.ACKNOWLEDGED])
def test_reopen_of_open_incident_is_noop(incident, actor_as, status):
    set_status(incident, status)
    services.incident_reopen(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == status
    assert "incident.reopened" not in ledger_verbs(incident)


def test_snooze_then_tick_wakes_it(incident, actor_as):
    from incidents.tasks import wake_snoozed

    until = timezone.now() + timedelta(minutes=30)
    services.incident_snooze(actor=actor_as("operator"), incident=incident, until=until)
    incident.refresh_from_db()
    assert incident.status == Status.SNOOZED
    assert incident.next_escalation_at is None
    assert wake_snoozed(now=timezone.now()) == 0  # not yet due
    assert wake_snoozed(now=until + timedelta(seconds=1)) == 1
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.snoozed_until is None
    assert incident.next_escalation_at is not None
    assert wake_snoozed(now=until + timedelta(seconds=2)) == 0  # a second tick changes nothing
    assert ledger_verbs(incident).count("incident.unsnoozed") == 1


@pytest.mark.parametrize(
    "until", [lambda: timezone.now() - timedelta(minutes=1), lambda: timezone.now() + timedelta(days=8)]
)
def test_snooze_rejects_past_and_far_future(incident, actor_as, until):
    with pytest.raises(Exception, match="until"):
        services.incident_snooze(actor=actor_as("operator"), incident=incident, until=until())
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_acknowledge_from_snoozed(incident, actor_as):
    services.incident_snooze(
        actor=actor_as("operator"), incident=incident, until=timezone.now() + timedelta(hours=1)
    )
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.snoozed_until is None


def test_reopen_within_window_and_refused_after(incident, actor_as):
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    services.incident_resolve(actor=actor_as("operator"), incident=incident)
    services.incident_reopen(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.resolved_at is None
    assert incident.acknowledged_at is None
    assert incident.next_escalation_at is not None

    services.incident_resolve(actor=actor_as("operator"), incident=incident)
    Incident.objects.filter(pk=incident.pk).update(resolved_at=timezone.now() - timedelta(days=30))
    with (
        override_settings(INCIDENT_REOPEN_WINDOW=timedelta(days=3)),
        pytest.raises(TransitionError, match="too long"),
    ):
        services.incident_reopen(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_escalate_now_retriggers(incident, actor_as):
    services.incident_acknowledge(actor=actor_as("operator"), incident=incident)
    services.incident_escalate(actor=actor_as("operator"), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED
    assert incident.next_escalation_at is not None
    assert incident.acknowledged_at is None


def test_update_severity_priority_and_labels(incident, actor_as):
    services.incident_update(
        actor=actor_as("operator"), incident=incident, severity="sev1", priority="p1", labels={"region": "eu"}
    )
    incident.refresh_from_db()
    assert (incident.severity, incident.priority, incident.labels) == ("sev1", "p1", {"region": "eu"})
    entry = LedgerEntry.objects.get(verb="incident.updated", target_id=str(incident.pk))
    assert entry.data["changes"] == {"severity": "sev1", "priority": "p1", "labels": {"region": "eu"}}


def test_update_rejects_bad_values(incident, actor_as):
    with pytest.raises(Exception) as excinfo:
        services.incident_update(
            actor=actor_as("operator"), incident=incident, severity="sev9", status="resolved"
        )
    assert "severity" in excinfo.value.message_dict
    assert "status" in excinfo.value.message_dict


def test_reassign_and_responders(incident, actor_as, users, outsider):
    services.incident_reassign(actor=actor_as("operator"), incident=incident, assignees=[users["manager"]])
    services.incident_add_responders(
        actor=actor_as("operator"), incident=incident, responders=[users["admin"]]
    )
    assert list(incident.assignees.all()) == [users["manager"]]
    assert list(incident.responders.all()) == [users["admin"]]
    with pytest.raises(Exception, match="members"):
        services.incident_reassign(actor=actor_as("operator"), incident=incident, assignees=[outsider])
    assert list(incident.assignees.all()) == [users["manager"]]
    assert ledger_verbs(incident)[-2:] == ["incident.reassigned", "incident.responders_added"]


def test_note_is_recorded_with_body(incident, actor_as, users):
    note = services.incident_add_note(actor=actor_as("operator"), incident=incident, body="**Rolled back**")
    assert note.author == users["operator"]
    entry = LedgerEntry.objects.get(verb="incident.note_added")
    assert entry.data["body"] == "**Rolled back**"
    with pytest.raises(Exception, match="empty"):
        services.incident_add_note(actor=actor_as("operator"), incident=incident, body="   ")


def test_merge_moves_alerts_and_resolves_source(open_incident, actor_as, org):
    target, source = open_incident(title="A"), open_incident(title="B")
    alert = Alert.objects.create(organization=org, incident=source, dedup_key="k1", title="cpu")
    services.incident_merge(actor=actor_as("operator"), target=target, source=source)
    source.refresh_from_db()
    alert.refresh_from_db()
    assert alert.incident_id == target.pk
    assert source.status == Status.RESOLVED
    assert source.merged_into_id == target.pk
    assert "incident.merged" in ledger_verbs(source)
    assert "incident.merged_in" in ledger_verbs(target)
    with pytest.raises(Exception, match="itself"):
        services.incident_merge(actor=actor_as("operator"), target=target, source=target)


@pytest.mark.parametrize(
    "call",
    [
        lambda a, i: services.incident_acknowledge(actor=a, incident=i),
        lambda a, i: services.incident_resolve(actor=a, incident=i),
        lambda a, i: services.incident_escalate(actor=a, incident=i),
        lambda a, i: services.incident_add_note(actor=a, incident=i, body="hi"),
        lambda a, i: services.incident_update(actor=a, incident=i, severity="sev1"),
    ],
)
def test_viewer_cannot_act(incident, actor_as, call):
    with pytest.raises(PermissionDenied):
        call(actor_as("viewer"), incident)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


def test_outsider_actor_cannot_touch_foreign_incident(incident, outsider, other_org):
    with pytest.raises(Http404):
        services.incident_acknowledge(actor=Actor.for_member(outsider, other_org), incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.TRIGGERED


@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledge_produces_one_ack_and_one_entry(org, users, service):
    incident = services.incident_create(
        actor=Actor.for_member(users["operator"], org), service=service, title="Race"
    )
    barrier = threading.Barrier(2)
    errors = []

    def ack(role):
        try:
            barrier.wait()
            services.incident_acknowledge(actor=Actor.for_member(users[role], org), incident=incident)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ack, args=(role,)) for role in ("operator", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert LedgerEntry.objects.filter(verb="incident.acknowledged", target_id=str(incident.pk)).count() == 1
