from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from incidents.realtime import publish_incident
from knowledge.access import require_read, require_write
from knowledge.models import Article, ArticleRevision, KnowledgeSettings, RunbookShown, RunbookStepCheck
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


REVIEWED = "knowledge.runbook_reviewed"
STALE_DAYS_UPDATED = "knowledge.settings_updated"
MAX_STALE_DAYS = 3650


def runbook_mark_reviewed(*, actor: Actor, article: Article) -> Article:
    """Someone who may edit the runbook vouches that it is still right, without editing it: its
    stale clock restarts. Reviewing twice is a new review (the time moves on), not a no-op."""
    require_write(actor, article.space)
    if not article.is_runbook:
        raise ValidationError({"article": "Only a runbook is reviewed."})
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        locked.reviewed_at, locked.reviewed_by = timezone.now(), actor.user
        locked.save(update_fields=["reviewed_at", "reviewed_by"])
        record(
            actor=actor,
            verb=REVIEWED,
            target=locked,
            data={"revision": locked.current_revision.number if locked.current_revision else None},
        )
    return locked


def runbooks_shown(*, incident, articles) -> None:
    """The incident page showed these runbooks: remembered once per pair for their effectiveness.
    A reading, not a change of anything a person did, so it writes no ledger entry; concurrent page
    loads race harmlessly on the unique pair."""
    RunbookShown.objects.bulk_create(
        [
            RunbookShown(organization_id=incident.organization_id, article=a, incident=incident)
            for a in articles
        ],
        ignore_conflicts=True,
    )


def runbook_stale_days_update(*, actor: Actor, days: int) -> KnowledgeSettings:
    actor.require(Capability.KNOWLEDGE_MANAGE)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_STALE_DAYS:
        raise ValidationError({"runbook_stale_days": f"A number of days from 1 to {MAX_STALE_DAYS}."})
    with transaction.atomic():
        row, _ = KnowledgeSettings.objects.select_for_update().get_or_create(organization=actor.organization)
        previous = row.runbook_stale_days
        if previous == days:
            return row
        row.runbook_stale_days = days
        row.save(update_fields=["runbook_stale_days"])
        record(
            actor=actor,
            verb=STALE_DAYS_UPDATED,
            target=row,
            data={"runbook_stale_days": days, "previous": previous},
        )
    return row
