"""State changes: acknowledge, resolve, snooze, unsnooze, reopen, escalate now."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Incident, Status
from incidents.services.base import apply_action
from incidents.sla.policy import shift_for_pause
from incidents.state import TransitionError
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

MAX_SNOOZE = timedelta(days=7)


def _leave_snooze(incident: Incident, now) -> list[str]:
    """Leaving the snoozed state: stop the SLA pause and clear the snooze."""
    if incident.status != Status.SNOOZED:
        return []
    changed = shift_for_pause(incident, paused_from=incident.snoozed_at, paused_to=now)
    incident.snoozed_until = None
    incident.snoozed_at = None
    return [*changed, "snoozed_until", "snoozed_at"]


def incident_acknowledge(*, actor: Actor, incident: Incident) -> Incident:
    def change(inc, target):
        now = timezone.now()
        fields = _leave_snooze(inc, now)
        inc.status = target
        inc.acknowledged_at = now
        inc.acknowledged_by = actor.user
        inc.next_escalation_at = None
        # An integration acknowledges for whoever acted in its source tool: the ledger names the tool.
        data = {"via": actor.integration.kind} if actor.integration is not None else {}
        # Whoever acknowledges an incident nobody owns takes it: the list then shows who is on it.
        # Locked row, same transaction: two people acknowledging at once cannot both be assigned.
        if actor.user is not None and not inc.assignees.exists():
            inc.assignees.add(actor.user)
            data["assigned"] = [actor.user.username]
        return [*fields, "status", "acknowledged_at", "acknowledged_by", "next_escalation_at"], data

    return apply_action(
        actor=actor,
        incident=incident,
        action="acknowledge",
        capability=Capability.INCIDENT_ACKNOWLEDGE,
        verb="incident.acknowledged",
        change=change,
    )


def incident_resolve(*, actor: Actor, incident: Incident, note: str = "") -> Incident:
    note = (note or "").strip()
    if len(note) > 10_000:
        raise ValidationError({"note": "A resolution note is at most 10,000 characters."})

    def change(inc, target):
        now = timezone.now()
        fields = _leave_snooze(inc, now)
        inc.status = target
        inc.resolved_at = now
        inc.resolved_by = actor.user
        inc.resolution_note = note
        inc.next_escalation_at = None
        return [*fields, "status", "resolved_at", "resolved_by", "resolution_note", "next_escalation_at"], {
            "note": note
        }

    return apply_action(
        actor=actor,
        incident=incident,
        action="resolve",
        capability=Capability.INCIDENT_RESOLVE,
        verb="incident.resolved",
        change=change,
    )


def incident_snooze(*, actor: Actor, incident: Incident, until) -> Incident:
    now = timezone.now()
    if until is None or until <= now:
        raise ValidationError({"until": "Snooze until a time in the future."})
    if until - now > MAX_SNOOZE:
        raise ValidationError({"until": "An incident can be snoozed for at most 7 days."})

    def change(inc, target):
        # Re-snoozing keeps the original start of the pause.
        inc.snoozed_at = inc.snoozed_at or now
        inc.snoozed_until = until
        inc.status = target
        inc.next_escalation_at = None
        return ["status", "snoozed_at", "snoozed_until", "next_escalation_at"], {"until": until.isoformat()}

    return apply_action(
        actor=actor,
        incident=incident,
        action="snooze",
        capability=Capability.INCIDENT_ACKNOWLEDGE,
        verb="incident.snoozed",
        change=change,
    )


def _retrigger(inc: Incident, now) -> list[str]:
    inc.status = Status.TRIGGERED
    inc.acknowledged_at = None
    inc.acknowledged_by = None
    inc.next_escalation_at = now
    return ["status", "acknowledged_at", "acknowledged_by", "next_escalation_at"]


def incident_unsnooze(*, actor: Actor, incident: Incident) -> Incident:
    """Back to triggered (the beat tick calls this when the snooze runs out)."""

    def change(inc, target):
        now = timezone.now()
        fields = _leave_snooze(inc, now)
        return [*fields, *_retrigger(inc, now)], {}

    return apply_action(
        actor=actor,
        incident=incident,
        action="unsnooze",
        capability=Capability.INCIDENT_ACKNOWLEDGE,
        verb="incident.unsnoozed",
        change=change,
    )


class DedupKeyHeld(TransitionError):
    """Another open incident holds the dedup key: only one may be open per key (a partial unique
    index), so this one cannot reopen. ``holder`` is that incident, for the answer to link."""

    def __init__(self, incident: Incident, holder: Incident):
        self.holder = holder
        super().__init__(
            f"Cannot reopen: incident #{holder.pk} is open with the same dedup key "
            f"({incident.dedup_key!r}); its alerts go there. Resolve it first, or work on #{holder.pk}.",
            code="dedup_key_held",
        )


def _open_holder(incident: Incident) -> Incident | None:
    if not incident.dedup_key:
        return None
    return (
        Incident.objects.filter(
            organization_id=incident.organization_id,
            dedup_key=incident.dedup_key,
            status__in=list(OPEN_STATUSES),
        )
        .exclude(pk=incident.pk)
        .first()
    )


def incident_reopen(*, actor: Actor, incident: Incident) -> Incident:
    def change(inc, target):
        now = timezone.now()
        if inc.merged_into_id:
            raise TransitionError(
                "A merged incident cannot be reopened; reopen the incident it was merged into."
            )
        if inc.resolved_at and now - inc.resolved_at > settings.INCIDENT_REOPEN_WINDOW:
            raise TransitionError("This incident was resolved too long ago to reopen; open a new one.")
        if holder := _open_holder(inc):
            raise DedupKeyHeld(inc, holder)
        inc.resolved_at = None
        inc.resolved_by = None
        inc.escalation_step = 0
        return [*_retrigger(inc, now), "resolved_at", "resolved_by", "escalation_step"], {}

    try:
        return apply_action(
            actor=actor,
            incident=incident,
            action="reopen",
            capability=Capability.INCIDENT_RESOLVE,
            verb="incident.reopened",
            change=change,
        )
    except IntegrityError:
        # An alert opened the holder between the check above and the save (apply_action's
        # transaction rolled back): the same answer as when the check sees it.
        if holder := _open_holder(incident):
            raise DedupKeyHeld(incident, holder) from None
        raise


def incident_escalate(*, actor: Actor, incident: Incident) -> Incident:
    """Escalate now: the paging engine runs the next step at its next tick."""

    def change(inc, target):
        now = timezone.now()
        return [*_retrigger(inc, now)], {"from_step": inc.escalation_step}

    return apply_action(
        actor=actor,
        incident=incident,
        action="escalate",
        capability=Capability.INCIDENT_MANAGE,
        verb="incident.escalated",
        change=change,
    )
