"""Runbook actions on the article page: "Mark reviewed" restarts its stale clock."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from knowledge.services.runbooks import runbook_mark_reviewed
from knowledge.views.pages import readable_article
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability


@require_POST
@requires(Capability.KNOWLEDGE_VIEW)  # the article first: 404 before 403
def runbook_reviewed(request, pk):
    article = readable_article(request, pk)
    try:
        runbook_mark_reviewed(actor=request.actor, article=article)
        messages.success(request, "Marked reviewed: the runbook is no longer stale for its age.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("knowledge:article", article.pk)
