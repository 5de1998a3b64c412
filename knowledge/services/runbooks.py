from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.services import record
from incidents.realtime import publish_incident
from knowledge.access import require_read
from knowledge.models import ArticleRevision, RunbookStepCheck
from knowledge.runbooks import steps_of
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

STEP_CHECKED = "incident.runbook_step_checked"


def runbook_step_check(*, actor: Actor, incident, revision: ArticleRevision, step: int) -> RunbookStepCheck:
    """A responder ticks step ``step`` (0-based) of a runbook revision on an incident; ticking twice is
    a no-op. Recorded on the incident, so it shows on its timeline."""
    if incident.organization_id != actor.organization.pk:
        raise ValidationError({"incident": "No such incident."})
    actor.require(Capability.INCIDENT_ACKNOWLEDGE, incident)
    require_read(actor, revision.article.space)
    steps = steps_of(revision.body)
    if not 0 <= step < len(steps):
        raise ValidationError({"step": f"The runbook has {len(steps)} steps."})
    existing = RunbookStepCheck.objects.filter(incident=incident, revision=revision, step=step).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            check = RunbookStepCheck.objects.create(
                organization=actor.organization,
                incident=incident,
                revision=revision,
                step=step,
                checked_by=actor.user,
            )
            record(
                actor=actor,
                verb=STEP_CHECKED,
                target=incident,
                data={
                    "article": revision.article_id,
                    "title": revision.title,
                    "revision": revision.number,
                    "step": step + 1,
                    "text": steps[step][:200],
                },
            )
            publish_incident(incident, STEP_CHECKED)
    except IntegrityError:
        # Two responders ticked the same step at once: the first one's tick stands.
        return RunbookStepCheck.objects.get(incident=incident, revision=revision, step=step)
    return check
