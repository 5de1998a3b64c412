"""The one shape every incident action has: check, lock, validate the transition, change, record."""

from collections.abc import Callable

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from incidents import state
from incidents.models import Incident
from incidents.realtime import publish_incident
from incidents.sla.policy import refresh_timer
from opsplatform.core.actors import Actor


def ensure_same_organization(actor: Actor, incident: Incident) -> None:
    """Defence in depth behind the views' scoped lookups: a foreign incident does not exist."""
    if incident.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No incident matches the given query.")


def lock(incident_id) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident_id)


def apply_action(
    *,
    actor: Actor,
    incident: Incident,
    action: str,
    capability: str,
    verb: str,
    change: Callable[[Incident, str], tuple[list[str], dict]],
) -> Incident:
    """Run ``change(locked_incident, target_state)`` → (fields, ledger data) inside one transaction.

    The permission check comes first (no lock is taken for a refused caller); the row lock then
    serializes concurrent actions, and the transition is validated against the locked row, so two
    simultaneous acknowledgements produce one change and one ledger entry.
    """
    ensure_same_organization(actor, incident)
    actor.require(capability, incident)
    with transaction.atomic():
        locked = lock(incident.pk)
        target = state.check(action, locked.status)
        if target is state.NOOP:
            return locked
        fields, data = change(locked, target)
        if not fields:
            return locked
        locked.updated_at = timezone.now()
        if "next_escalation_at" in fields:
            locked.escalation_epoch += 1
            fields.append("escalation_epoch")
        fields = [*fields, *refresh_timer(locked), "updated_at"]
        locked.save(update_fields=sorted(set(fields)))
        record(actor=actor, verb=verb, target=locked, data=data)
        publish_incident(locked, verb)
    return locked
