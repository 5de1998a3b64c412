"""Drafting a postmortem from a resolved incident, and re-syncing its timeline from the ledger."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Incident
from incidents.models.enums import Status
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

from ..errors import ReadOnly
from ..models import Postmortem, PostmortemRevision, PostmortemStatus, TimelineRow
from ..prefill import facts_from, ledger_rows


def _incidents_of(incident: Incident) -> list[Incident]:
    merged = Incident.objects.filter(merged_into=incident).select_related("service")
    return [incident, *merged]


def _write_timeline(postmortem: Postmortem, incidents) -> int:
    rows = ledger_rows(incidents)
    postmortem.timeline.all().delete()
    TimelineRow.objects.bulk_create(
        TimelineRow(organization_id=postmortem.organization_id, postmortem=postmortem, **row.__dict__)
        for row in rows
    )
    postmortem.facts = facts_from(rows, incidents, postmortem.incident)
    postmortem.synced_at = timezone.now()
    return len(rows)


def postmortem_draft(*, actor: Actor, incident: Incident) -> tuple[Postmortem, bool]:
    """The incident's postmortem, drafted now (``True``) or the one that exists (``False``)."""
    if incident.organization_id != getattr(actor.organization, "pk", None):
        raise ValidationError({"incident": "No such incident in this organization."})
    actor.require(Capability.POSTMORTEM_EDIT)
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing is not None:
        return existing, False
    if incident.merged_into_id:
        raise ValidationError(
            {
                "incident": (
                    f"This incident was merged into #{incident.merged_into_id}: draft the postmortem there."
                )
            }
        )
    if incident.status != Status.RESOLVED:
        raise ValidationError({"incident": "Only a resolved incident can have a postmortem."})
    incidents = _incidents_of(incident)
    now = timezone.now()
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                organization=incident.organization,
                incident=incident,
                title=f"Postmortem: {incident.title}"[:200],
                summary=incident.description,
                created_by=actor.user,
                created_at=now,
                updated_at=now,
            )
            postmortem.incidents.set(incidents)
            count = _write_timeline(postmortem, incidents)
            postmortem.save(update_fields=["facts", "synced_at"])
            PostmortemRevision.objects.create(
                organization=postmortem.organization,
                postmortem=postmortem,
                number=1,
                title=postmortem.title,
                sections=postmortem.sections(),
                message="Drafted from the ledger",
                author=actor.user,
                created_at=now,
            )
            record(
                actor=actor,
                verb="postmortem.drafted",
                target=postmortem,
                data={"incidents": [i.pk for i in incidents], "timeline": count},
            )
    except IntegrityError:
        # Two people drafting at once: the unique incident constraint lets one win; both get it.
        return Postmortem.objects.get(incident=incident), False
    return postmortem, True


@transaction.atomic
def postmortem_resync(*, actor: Actor, postmortem: Postmortem) -> Postmortem:
    """Refresh the timeline and facts from the ledger; the written sections stay as they are."""
    actor.require(Capability.POSTMORTEM_EDIT)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostmortemStatus.PUBLISHED:
        raise ReadOnly("A published postmortem is read-only: its timeline no longer changes.")
    incidents = _incidents_of(locked.incident)
    locked.incidents.set(incidents)
    count = _write_timeline(locked, incidents)
    locked.updated_at = locked.synced_at
    locked.save(update_fields=["facts", "synced_at", "updated_at"])
    record(actor=actor, verb="postmortem.resynced", target=locked, data={"timeline": count})
    return locked
