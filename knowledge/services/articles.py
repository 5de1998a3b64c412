"""Articles and their revisions: every save is a new revision based on the one the writer saw."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Service
from knowledge.access import require_read, require_write
from knowledge.errors import RevisionConflict
from knowledge.models import Article, ArticleRevision, Space
from knowledge.realtime import publish_article_saved
from knowledge.runbooks import clean_runbook_for
from knowledge.services.spaces import organization_space, search_config_of
from opsplatform.core.actors import Actor

MAX_TITLE = 255
MAX_BODY = 500_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_MESSAGE = 255


def _clean_title(title) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "An article needs a title."})
    if len(title) > MAX_TITLE:
        raise ValidationError({"title": f"At most {MAX_TITLE} characters."})
    return title


def _clean_body(body) -> str:
    body = body or ""
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"At most {MAX_BODY} characters."})
    return body


def _clean_tags(tags) -> list[str]:
    cleaned = []
    for raw in tags or []:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG:
            raise ValidationError({"tags": f"A tag has at most {MAX_TAG} characters."})
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": f"At most {MAX_TAGS} tags."})
    return cleaned


def _services(organization, ids) -> list[Service]:
    wanted = set(ids or [])
    found = list(Service.objects.filter(organization=organization, pk__in=wanted))
    missing = sorted(wanted - {s.pk for s in found})
    if missing:
        raise ValidationError({"services": f"No such service: {missing[0]}."})
    return found


def _org_service_ids(organization) -> set[int]:
    return set(Service.objects.filter(organization=organization).values_list("pk", flat=True))


def _add_revision(*, article, actor, message, restored_from=None) -> ArticleRevision:
    last = article.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    revision = ArticleRevision.objects.create(
        article=article,
        number=last + 1,
        title=article.title,
        body=article.body,
        tags=list(article.tags),
        runbook_for=article.runbook_for,
        message=(message or "")[:MAX_MESSAGE],
        author=actor.user,
        restored_from=restored_from,
    )
    article.current_revision = revision
    article.save(update_fields=["current_revision"])
    return revision


def article_create(
    *,
    actor: Actor,
    title: str,
    body: str = "",
    space: Space | None = None,
    tags=None,
    services=None,
    runbook_for=None,
    message: str = "",
) -> Article:
    """A new article and its first revision; without a space it lands in the organization-wide one."""
    organization = actor.organization
    space = space or organization_space(organization)
    require_write(actor, space)
    title, body, tags = _clean_title(title), _clean_body(body), _clean_tags(tags)
    linked = _services(organization, services)
    runbook_for = clean_runbook_for(runbook_for, service_ids_in_org=_org_service_ids(organization))
    with transaction.atomic():
        article = Article.objects.create(
            organization=organization,
            space=space,
            title=title,
            body=body,
            tags=tags,
            runbook_for=runbook_for,
            search_config=search_config_of(organization),
            updated_by=actor.user,
        )
        article.services.set(linked)
        revision = _add_revision(article=article, actor=actor, message=message or "Created")
        record(
            actor=actor,
            verb="knowledge.article_created",
            target=article,
            data={"title": title, "space": space.pk, "revision": revision.number},
        )
        publish_article_saved(article)
    return article


UNSET = object()


def article_save(
    *,
    actor: Actor,
    article: Article,
    base_revision: int | None,
    title=UNSET,
    body=UNSET,
    tags=UNSET,
    services=UNSET,
    runbook_for=UNSET,
    space: Space | None = None,
    message: str = "",
) -> Article:
    """Save a new revision of ``article`` made on top of revision id ``base_revision``.

    The row lock serializes savers; whoever comes second finds the current revision moved past their
    base and gets :class:`RevisionConflict` instead of overwriting the first one's work.
    """
    require_write(actor, article.space)
    if space is not None and space.pk != article.space_id:
        require_write(actor, space)
    organization = actor.organization
    changes = {}
    if title is not UNSET:
        changes["title"] = _clean_title(title)
    if body is not UNSET:
        changes["body"] = _clean_body(body)
    if tags is not UNSET:
        changes["tags"] = _clean_tags(tags)
    if runbook_for is not UNSET:
        changes["runbook_for"] = clean_runbook_for(
            runbook_for, service_ids_in_org=_org_service_ids(organization)
        )
    linked = _services(organization, services) if services is not UNSET else None
    if base_revision is None:
        raise ValidationError({"base_revision": "A save names the revision it was made on."})
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        if locked.current_revision_id != base_revision:
            current = locked.current_revision.number if locked.current_revision else None
            base = ArticleRevision.objects.filter(pk=base_revision, article=locked).values_list(
                "number", flat=True
            )
            raise RevisionConflict(base=base.first(), current=current)
        for field, value in changes.items():
            setattr(locked, field, value)
        if space is not None:
            locked.space = space
        locked.updated_at = timezone.now()
        locked.updated_by = actor.user
        locked.save()
        if linked is not None:
            locked.services.set(linked)
        revision = _add_revision(article=locked, actor=actor, message=message)
        record(
            actor=actor,
            verb="knowledge.article_saved",
            target=locked,
            data={
                "revision": revision.number,
                "base": base_revision,
                "fields": sorted(changes),
                "message": message,
            },
        )
        publish_article_saved(locked)
    return locked


def article_restore(*, actor: Actor, article: Article, revision: ArticleRevision) -> Article:
    """Bring back an old revision's text as a new revision (history is never rewritten)."""
    require_write(actor, article.space)
    if revision.article_id != article.pk:
        raise ValidationError({"revision": "Not a revision of this article."})
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk)
        locked.title, locked.body = revision.title, revision.body
        locked.tags, locked.runbook_for = list(revision.tags), revision.runbook_for
        locked.updated_at, locked.updated_by = timezone.now(), actor.user
        locked.save()
        new = _add_revision(
            article=locked,
            actor=actor,
            message=f"Restored revision {revision.number}",
            restored_from=revision,
        )
        record(
            actor=actor,
            verb="knowledge.article_restored",
            target=locked,
            data={"revision": new.number, "restored": revision.number},
        )
        publish_article_saved(locked)
    return locked


def article_for_read(actor: Actor, article: Article) -> Article:
    require_read(actor, article.space)
    return article
