"""The SLA beat tick: marks warnings and breaches exactly once each.

Rows are claimed with FOR UPDATE SKIP LOCKED, so overlapping ticks (or a retried task) split the
work instead of repeating it, and each marker is set in the same transaction as its ledger entry.
"""

from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Incident
from incidents.realtime import publish_incident
from incidents.sla.policy import pending_clocks, refresh_timer
from opsplatform.core.actors import Actor

BATCH = 200

VERBS = {
    "ack_warned_at": ("incident.sla_ack_warning", "ack_due_at"),
    "ack_breached_at": ("incident.sla_ack_breached", "ack_due_at"),
    "resolve_warned_at": ("incident.sla_resolve_warning", "resolve_due_at"),
    "resolve_breached_at": ("incident.sla_resolve_breached", "resolve_due_at"),
}


def _fire(incident: Incident, now) -> None:
    fired = [marker for instant, marker in pending_clocks(incident) if getattr(incident, instant) <= now]
    for marker in fired:
        setattr(incident, marker, now)
    refresh_timer(incident)
    incident.save(update_fields=[*fired, "sla_next_at"])
    actor = Actor.system("sla", organization=incident.organization)
    for marker in fired:
        verb, due_field = VERBS[marker]
        record(
            actor=actor, verb=verb, target=incident, data={"due_at": getattr(incident, due_field).isoformat()}
        )
    if fired:
        publish_incident(incident, VERBS[fired[-1]][0])


def run_sla_tick(now=None) -> int:
    """Process every incident whose SLA timer is due; returns how many were examined."""
    now = now or timezone.now()
    examined = 0
    while True:
        with transaction.atomic():
            due = list(
                Incident.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("sla_policy", "organization")
                .filter(sla_next_at__lte=now)
                .order_by("sla_next_at")[:BATCH]
            )
            for incident in due:
                _fire(incident, now)
        examined += len(due)
        if len(due) < BATCH:
            return examined
