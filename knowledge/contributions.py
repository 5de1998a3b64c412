"""What the knowledge app adds to other apps' responses (registered in ``KnowledgeConfig.ready``)."""

from django.conf import settings
from django.urls import reverse

from knowledge.access import readable_spaces
from knowledge.models import Space, SpaceKind
from knowledge.selectors import runbooks_for_incident, runbooks_in_spaces
from notifications.message_links import MessageLink
from opsplatform.api.authentication import request_actor
from opsplatform.core.actors import Actor


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


def top_runbook_link(incident, recipient) -> MessageLink | None:
    """The best matching runbook for an incident's page message. A person gets the best one they may
    read; a room (``recipient`` None: an organization's channel, read by many) only one from the
    organization-wide space, so a team's or someone's private runbook never shows its title there."""
    organization = incident.organization
    if recipient is None:
        spaces = Space.objects.filter(organization=organization, kind=SpaceKind.ORGANIZATION)
    else:
        actor = Actor.for_member(recipient, organization)
        if actor.role is None:  # no longer a member
            return None
        spaces = readable_spaces(actor)
    matched = runbooks_in_spaces(spaces, incident)
    if not matched:
        return None
    article = matched[0][0]
    url = settings.SITE_URL + reverse("knowledge:article", args=[article.pk]) + f"?incident={incident.pk}"
    return MessageLink(label="Runbook", title=article.title, url=url)
