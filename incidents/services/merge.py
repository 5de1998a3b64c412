from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Alert, Incident, Status
from incidents.realtime import publish_incident
from incidents.services.base import ensure_same_organization
from incidents.sla.policy import refresh_timer
from incidents.state import check
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability


@transaction.atomic
def incident_merge(*, actor: Actor, target: Incident, source: Incident) -> Incident:
    """Merge ``source`` into ``target``: its alerts move over, its timeline shows on the target's
    (the ledger never moves; the target's timeline includes merged incidents), and it resolves as merged."""
    ensure_same_organization(actor, target)
    ensure_same_organization(actor, source)
    if target.pk == source.pk:
        raise ValidationError({"source": "An incident cannot be merged into itself."})
    actor.require(Capability.INCIDENT_MANAGE, target)
    actor.require(Capability.INCIDENT_MANAGE, source)
    # Lock both in id order so two opposite merges cannot deadlock.
    locked = {
        i.pk: i
        for i in Incident.objects.select_for_update().filter(pk__in=[target.pk, source.pk]).order_by("pk")
    }
    target, source = locked[target.pk], locked[source.pk]
    if target.merged_into_id:
        raise ValidationError({"target": "The target incident was itself merged away."})
    check("edit", target.status)
    check("merge", source.status)
    now = timezone.now()
    moved = Alert.objects.filter(incident=source).update(incident=target)
    # Incidents merged earlier into the source now point at the survivor too.
    Incident.objects.filter(merged_into=source).update(merged_into=target)
    source.status = Status.RESOLVED
    source.resolved_at = now
    source.resolved_by = actor.user
    source.resolution_note = f"Merged into #{target.pk}."
    source.merged_into = target
    source.next_escalation_at = None
    source.updated_at = now
    source.save(
        update_fields=[
            *refresh_timer(source),  # its SLA clocks stop: a merged incident never breaches
            "status",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "merged_into",
            "next_escalation_at",
            "updated_at",
        ]
    )
    target.updated_at = now
    target.save(update_fields=["updated_at"])
    record(
        actor=actor, verb="incident.merged", target=source, data={"into": target.pk, "alerts_moved": moved}
    )
    record(
        actor=actor,
        verb="incident.merged_in",
        target=target,
        data={"source": source.pk, "alerts_moved": moved},
    )
    publish_incident(source, "incident.merged")
    publish_incident(target, "incident.merged_in")
    return target
