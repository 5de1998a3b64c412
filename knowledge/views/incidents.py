"""The incident page's runbooks panel (an htmx partial) and ticking a runbook step."""

from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from incidents.models import Incident
from knowledge.access import require_read
from knowledge.effectiveness import staleness
from knowledge.models import ArticleRevision, RunbookStepCheck
from knowledge.runbooks import steps_of
from knowledge.selectors import runbooks_for_incident
from knowledge.services.runbooks import runbook_step_check, runbooks_shown
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.ids import parse_id


def _panel(request, incident, error=None, status=200):
    checks = set(RunbookStepCheck.objects.filter(incident=incident).values_list("revision_id", "step"))
    runbooks = []
    for article, score in runbooks_for_incident(request.actor, incident):
        revision = article.current_revision
        steps = [
            {"index": i, "text": text, "checked": (revision.pk, i) in checks}
            for i, text in enumerate(steps_of(revision.body if revision else ""))
        ]
        runbooks.append({"article": article, "score": score, "revision": revision, "steps": steps})
    articles = [r["article"] for r in runbooks]
    runbooks_shown(incident=incident, articles=articles)
    # A responder should know a runbook is doubtful (old, or a postmortem said it was wrong).
    flags = staleness(articles)
    for row in runbooks:
        row["stale"] = flags[row["article"].pk]
    return render(
        request,
        "knowledge/_incident_runbooks.html",
        {
            "incident": incident,
            "runbooks": runbooks,
            "may_check": request.actor.can(Capability.INCIDENT_ACKNOWLEDGE, incident),
            "error": error,
        },
        status=status,
    )


@requires(Capability.INCIDENT_VIEW)
def incident_runbooks(request, incident_id):
    incident = get_for_read_or_404(request, Incident, Capability.INCIDENT_VIEW, pk=incident_id)
    if request.method == "POST":
        revision = (
            ArticleRevision.objects.select_related("article__space")
            .filter(
                article__organization=request.organization, pk=parse_id(request.POST.get("revision") or "")
            )
            .first()
        )
        step = parse_id(request.POST.get("step") or "0")
        if revision is None or step is None:
            return HttpResponseBadRequest("No such runbook step.")
        require_read(request.actor, revision.article.space)
        try:
            runbook_step_check(actor=request.actor, incident=incident, revision=revision, step=step - 1)
        except ValidationError as exc:
            return _panel(request, incident, error=" ".join(exc.messages), status=400)
    return _panel(request, incident)
