"""What the knowledge app adds to other apps' responses (registered in ``KnowledgeConfig.ready``)."""

import time

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from knowledge.access import readable_spaces
from knowledge.models import Article, Space, SpaceKind
from knowledge.selectors import rank_runbooks, runbooks_for_incident
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


# The runbooks a page's reader may see, per (organization, reader): every page of a storm asked the
# database for the same list (half of a delivery tick's time, docs/benchmarks.md). Saving or removing
# an article or a space clears this process's copy; other processes see the change within the TTL.
RUNBOOK_CANDIDATES_SECONDS = 5.0
MAX_CANDIDATE_LISTS = 1024
_candidates: dict[tuple[int, int | None], tuple[float, list | None]] = {}


def _runbook_candidates(organization, recipient) -> list | None:
    """The runbook articles ``recipient`` may read (a room: those of the organization-wide space);
    None when the recipient is no longer a member."""
    key = (organization.pk, recipient.pk if recipient is not None else None)
    cached = _candidates.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < RUNBOOK_CANDIDATES_SECONDS:
        return cached[1]
    if recipient is None:
        spaces = Space.objects.filter(organization=organization, kind=SpaceKind.ORGANIZATION)
    else:
        actor = Actor.for_member(recipient, organization)
        spaces = None if actor.role is None else readable_spaces(actor)
    articles = None
    if spaces is not None:
        articles = list(
            Article.objects.filter(
                organization=organization, runbook_for__isnull=False, space__in=spaces
            ).only("id", "title", "runbook_for", "organization_id", "space_id")
        )
    if len(_candidates) >= MAX_CANDIDATE_LISTS:
        _candidates.clear()
    _candidates[key] = (now, articles)
    return articles


def forget_runbook_candidates(**kwargs) -> None:
    # Now and again after the commit: a page prepared in between would load the old list and keep it.
    _candidates.clear()
    transaction.on_commit(_candidates.clear, robust=True)


def top_runbook_link(incident, recipient) -> MessageLink | None:
    """The best matching runbook for an incident's page message. A person gets the best one they may
    read; a room (``recipient`` None: an organization's channel, read by many) only one from the
    organization-wide space, so a team's or someone's private runbook never shows its title there."""
    candidates = _runbook_candidates(incident.organization, recipient)
    matched = rank_runbooks(candidates or [], incident)
    if not matched:
        return None
    article = matched[0][0]
    url = settings.SITE_URL + reverse("knowledge:article", args=[article.pk]) + f"?incident={incident.pk}"
    return MessageLink(label="Runbook", title=article.title, url=url)
