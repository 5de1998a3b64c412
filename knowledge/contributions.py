"""What the knowledge app adds to other apps' responses (registered in ``KnowledgeConfig.ready``)."""

from django.urls import reverse

from knowledge.selectors import runbooks_for_incident
from opsplatform.api.authentication import request_actor


def incident_runbooks(incident, request) -> list[dict]:
    actor = request_actor(request) if request is not None else None
    if actor is None:
        return []
    return [
        {
            "id": article.pk,
            "title": article.title,
            "url": reverse("knowledge:article", args=[article.pk]),
            "score": score,
            "revision": article.current_revision.number if article.current_revision else None,
        }
        for article, score in runbooks_for_incident(actor, incident)
    ]
