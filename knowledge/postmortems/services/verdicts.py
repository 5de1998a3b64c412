"""What a postmortem says about the runbooks of its incidents: helped, wrong (or outdated), not used.

A ``wrong`` verdict flags the runbook stale (``knowledge.effectiveness``) until someone edits it or
marks it reviewed after the verdict. Verdicts freeze with the rest of a published postmortem.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from knowledge.access import readable_spaces
from knowledge.models import Article
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

from ..errors import ReadOnly
from ..models import Postmortem, PostmortemStatus, RunbookVerdict, RunbookVerdictKind

NOTE_LIMIT = 500
MAX_VERDICTS = 50
VERB = "postmortem.runbook_verdicts_set"


def _clean(actor: Actor, organization_id: int, verdicts) -> dict[int, tuple[str | None, str]]:
    """{article id: (verdict or None to remove it, note)}, or a ValidationError on ``runbook_verdicts``.
    A runbook the actor may not read reads like one that does not exist."""
    if not isinstance(verdicts, list) or not 1 <= len(verdicts) <= MAX_VERDICTS:
        raise ValidationError({"runbook_verdicts": f"A list of 1 to {MAX_VERDICTS} verdicts."})
    cleaned: dict[int, tuple[str | None, str]] = {}
    for item in verdicts:
        article, verdict, note = item.get("article"), item.get("verdict"), (item.get("note") or "").strip()
        if not isinstance(article, int) or isinstance(article, bool) or article < 1:
            raise ValidationError({"runbook_verdicts": "Each verdict names a runbook by its id."})
        if article in cleaned:
            raise ValidationError({"runbook_verdicts": f"Runbook {article} is named twice."})
        if verdict is not None and verdict not in RunbookVerdictKind.values:
            raise ValidationError(
                {"runbook_verdicts": f"A verdict is one of {', '.join(RunbookVerdictKind.values)}, or null."}
            )
        if len(note) > NOTE_LIMIT:
            raise ValidationError({"runbook_verdicts": f"A note of at most {NOTE_LIMIT} characters."})
        cleaned[article] = (verdict, note if verdict is not None else "")
    runbooks = set(
        Article.objects.filter(
            organization_id=organization_id,
            runbook_for__isnull=False,
            space__in=readable_spaces(actor),
            pk__in=list(cleaned),
        ).values_list("pk", flat=True)
    )
    if missing := sorted(set(cleaned) - runbooks):
        raise ValidationError({"runbook_verdicts": f"No such runbook: {missing[0]}."})
    return cleaned


@transaction.atomic
def runbook_verdicts_set(*, actor: Actor, postmortem: Postmortem, verdicts: list[dict]) -> Postmortem:
    """Set (or, with ``verdict: None``, remove) the verdict on each named runbook; runbooks not
    named keep theirs. A verdict whose kind or note changes is decided again now (a changed "wrong"
    flags the runbook anew); an unchanged one keeps its time."""
    actor.require(Capability.POSTMORTEM_EDIT)
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostmortemStatus.PUBLISHED:
        raise ReadOnly("A published postmortem is read-only: its runbook verdicts no longer change.")
    cleaned = _clean(actor, locked.organization_id, verdicts)
    existing = {
        v.article_id: v for v in RunbookVerdict.objects.filter(postmortem=locked, article_id__in=cleaned)
    }
    now = timezone.now()
    changes = []
    for article_id, (verdict, note) in cleaned.items():
        current = existing.get(article_id)
        if verdict is None:
            if current is not None:
                current.delete()
                changes.append({"article": article_id, "verdict": None, "previous": current.verdict})
            continue
        if current is not None and (current.verdict, current.note) == (verdict, note):
            continue
        RunbookVerdict.objects.update_or_create(
            postmortem=locked,
            article_id=article_id,
            defaults={
                "organization_id": locked.organization_id,
                "verdict": verdict,
                "note": note,
                "decided_at": now,
                "decided_by": actor.user,
            },
        )
        changes.append(
            {
                "article": article_id,
                "verdict": verdict,
                "note": note,
                "previous": current.verdict if current else None,
            }
        )
    if changes:
        locked.updated_at = now
        locked.save(update_fields=["updated_at"])
        record(actor=actor, verb=VERB, target=locked, data={"verdicts": changes})
    return locked
