"""Reads: the articles a reader may see, the runbooks of an incident, the diff of two revisions."""

import difflib

from django.db.models import QuerySet

from knowledge.access import readable_spaces
from knowledge.models import Article, ArticleRevision, Space
from knowledge.runbooks import match_score
from opsplatform.core.actors import Actor


def visible_articles(actor: Actor) -> QuerySet[Article]:
    return (
        Article.objects.filter(organization=actor.organization, space__in=readable_spaces(actor))
        .select_related("space", "updated_by", "current_revision")
        .defer("body")
    )


def runbooks_for_incident(actor: Actor, incident) -> list[tuple[Article, int]]:
    """The runbooks the actor may read whose selectors fit the incident, best match first."""
    return runbooks_in_spaces(readable_spaces(actor), incident)


def runbooks_in_spaces(spaces: QuerySet[Space], incident) -> list[tuple[Article, int]]:
    candidates = (
        Article.objects.filter(organization=incident.organization_id, runbook_for__isnull=False)
        .filter(space__in=spaces)
        .select_related("current_revision", "space")
    )
    return rank_runbooks(candidates, incident)


def rank_runbooks(candidates, incident) -> list[tuple[Article, int]]:
    """The runbooks among ``candidates`` whose selectors fit the incident, best match first."""
    scored = [(article, match_score(article.runbook_for, incident)) for article in candidates]
    matched = [(article, score) for article, score in scored if score is not None]
    return sorted(matched, key=lambda pair: (-pair[1], pair[0].title.lower(), pair[0].pk))


def revision_diff(old: ArticleRevision, new: ArticleRevision) -> str:
    """An HTML side-by-side table of the two revisions (difflib escapes the text it shows)."""
    left = [f"# {old.title}", "", *old.body.splitlines()]
    right = [f"# {new.title}", "", *new.body.splitlines()]
    return text_diff(left, right, f"Revision {old.number}", f"Revision {new.number}")


def text_diff(left: list[str], right: list[str], left_label: str, right_label: str) -> str:
    """A side-by-side table of two texts' lines, with context: articles and postmortems alike."""
    return difflib.HtmlDiff(tabsize=4, wrapcolumn=80).make_table(
        left, right, left_label, right_label, context=True, numlines=3
    )
