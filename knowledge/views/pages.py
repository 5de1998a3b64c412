"""Knowledge pages: the index with search, an article, its editor, history and diff, attachments."""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from knowledge.access import can_write, readable_spaces, require_read, require_write
from knowledge.effectiveness import effectiveness, staleness, usage_counts
from knowledge.errors import RevisionConflict
from knowledge.forms import ArticleForm, AttachmentForm
from knowledge.models import Article, ArticleRevision, Attachment
from knowledge.search import Filters, search
from knowledge.selectors import revision_diff, visible_articles
from knowledge.services.articles import article_create, article_restore, article_save
from knowledge.services.attachments import attachment_add
from knowledge.services.spaces import organization_space
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.ids import parse_id
from opsplatform.core.markdown import render_markdown
from opsplatform.core.tenancy import get_in_organization_or_404

PAGE = 20
KINDS = {"runbooks": "Runbooks", "stale": "Stale runbooks"}


def readable_article(request, pk) -> Article:
    article = get_in_organization_or_404(
        Article.objects.select_related("space", "current_revision"), request.organization, pk=pk
    )
    require_read(request.actor, article.space)
    return article


@requires(Capability.KNOWLEDGE_VIEW)
def index(request):
    actor = request.actor
    organization_space(request.organization)
    spaces = list(readable_spaces(actor).order_by("kind", "name"))
    space = next((sp for sp in spaces if str(sp.pk) == request.GET.get("space")), None)
    tag = (request.GET.get("tag") or "").strip().lower() or None
    service_id = parse_id(request.GET.get("service") or "")
    query = (request.GET.get("q") or "").strip()
    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else ""
    page_number = parse_id(request.GET.get("page") or "") or 1
    space_ids = [space.pk] if space else [sp.pk for sp in spaces]
    hits, has_next, articles = [], False, None
    if query:
        found = search(
            request.organization,
            query,
            Filters(space_ids=space_ids, tag=tag, service_id=service_id),
            limit=PAGE + 1,
            snippets=PAGE,
            offset=(page_number - 1) * PAGE,
        )
        has_next, hits = len(found) > PAGE, found[:PAGE]
        by_id = visible_articles(actor).in_bulk([hit.id for hit in hits])
        hits = [(hit, by_id.get(hit.id)) for hit in hits]
    else:
        rows = visible_articles(actor).filter(space_id__in=space_ids).order_by("-updated_at", "-id")
        if tag:
            rows = rows.filter(tags__contains=[tag])
        if service_id:
            rows = rows.filter(services__id=service_id)
        if kind in ("runbooks", "stale"):
            rows = rows.filter(runbook_for__isnull=False)
        if kind == "stale":
            # Runbooks are few next to articles: the flag is computed for them all, then paged.
            runbooks = list(rows)
            flags = staleness(runbooks)
            rows = [a for a in runbooks if flags[a.pk].stale]
        articles = Paginator(rows, PAGE).get_page(page_number)
        listed = list(articles.object_list)
        flags = staleness(listed)
        usage = usage_counts([a.pk for a in listed if a.is_runbook])
        for article in listed:
            article.stale = flags[article.pk]
            article.usage = usage.get(article.pk)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "knowledge/index.html",
        {
            "spaces": spaces,
            "space": space,
            "tag": tag,
            "query": query,
            "hits": hits,
            "has_next": has_next,
            "page_number": page_number,
            "articles": articles,
            "base_query": params.urlencode(),
            "kind": kind,
            "kinds": KINDS,
        },
    )


@requires(Capability.KNOWLEDGE_VIEW)
def article_detail(request, pk):
    article = readable_article(request, pk)
    return render(
        request,
        "knowledge/article.html",
        {
            "article": article,
            "html": render_markdown(article.body),
            "attachments": article.attachments.all(),
            "may_write": can_write(request.actor, article.space),
            "attachment_form": AttachmentForm(),
            "stale": staleness([article])[article.pk],
            "effect": effectiveness(article) if article.is_runbook else None,
        },
    )


def _save_form(request, form, article=None):
    data = form.cleaned_data
    fields = {"title": data["title"], "body": data["body"], "tags": data["tags"], "message": data["message"]}
    if article is None:
        return article_create(actor=request.actor, space=data["space"], **fields)
    return article_save(actor=request.actor, article=article, base_revision=data["base_revision"], **fields)


@requires(Capability.KNOWLEDGE_VIEW)
def article_edit(request, pk=None):
    # The article first: a space the reader cannot see is a 404 whatever their role.
    article = readable_article(request, pk) if pk else None
    if article is not None:
        require_write(request.actor, article.space)
    else:
        request.actor.require(Capability.KNOWLEDGE_WRITE)
    spaces = readable_spaces(request.actor)
    if request.method == "POST":
        form = ArticleForm(request.POST, spaces=spaces)
        if form.is_valid():
            try:
                saved = _save_form(request, form, article)
                return redirect("knowledge:article", saved.pk)
            except RevisionConflict as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
    else:
        initial = {"space": None}
        if article:
            initial = {
                "title": article.title,
                "body": article.body,
                "tags": ", ".join(article.tags),
                "space": article.space,
                "base_revision": article.current_revision_id,
            }
        form = ArticleForm(initial=initial, spaces=spaces)
    return render(request, "knowledge/edit.html", {"article": article, "form": form})


@requires(Capability.KNOWLEDGE_VIEW)
def preview(request):
    return render(request, "knowledge/_preview.html", {"html": render_markdown(request.POST.get("body", ""))})


@requires(Capability.KNOWLEDGE_VIEW)
def saved_banner(request, pk):
    """The edit page's live banner: shown once the article moved past the revision being edited."""
    article = readable_article(request, pk)
    base = parse_id(request.GET.get("base") or "")
    moved = article.current_revision_id is not None and article.current_revision_id != base
    if not moved:
        return render(request, "knowledge/_saved_banner.html", {"moved": False})
    return render(request, "knowledge/_saved_banner.html", {"moved": True, "article": article})


@requires(Capability.KNOWLEDGE_VIEW)
def history(request, pk):
    article = readable_article(request, pk)
    revisions = list(article.revisions.select_related("author").order_by("-number"))
    return render(
        request,
        "knowledge/history.html",
        {"article": article, "revisions": revisions, "may_write": can_write(request.actor, article.space)},
    )


@requires(Capability.KNOWLEDGE_VIEW)
def diff(request, pk):
    article = readable_article(request, pk)
    old = ArticleRevision.objects.filter(article=article, pk=parse_id(request.GET.get("from") or "")).first()
    new = ArticleRevision.objects.filter(article=article, pk=parse_id(request.GET.get("to") or "")).first()
    if old is None or new is None:
        raise Http404("No such revision.")
    return render(
        request,
        "knowledge/diff.html",
        {"article": article, "old": old, "new": new, "table": mark_safe(revision_diff(old, new))},  # noqa: S308 (difflib escapes the text)
    )


@requires(Capability.KNOWLEDGE_VIEW, post=Capability.KNOWLEDGE_WRITE)
def restore(request, pk):
    article = readable_article(request, pk)
    revision = ArticleRevision.objects.filter(
        article=article, pk=parse_id(request.POST.get("revision") or "")
    ).first()
    if request.method != "POST" or revision is None:
        raise Http404("No such revision.")
    article_restore(actor=request.actor, article=article, revision=revision)
    return redirect("knowledge:history", article.pk)


@requires(Capability.KNOWLEDGE_VIEW, post=Capability.KNOWLEDGE_WRITE)
def attachment_upload(request, pk):
    article = readable_article(request, pk)
    form = AttachmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            attachment_add(actor=request.actor, article=article, upload=form.cleaned_data["file"])
            return redirect("knowledge:article", article.pk)
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                form.add_error("file", messages)
    return render(
        request,
        "knowledge/article.html",
        {
            "article": article,
            "html": render_markdown(article.body),
            "attachments": article.attachments.all(),
            "may_write": can_write(request.actor, article.space),
            "attachment_form": form,
        },
        status=400,
    )


@requires(Capability.KNOWLEDGE_VIEW)
def attachment_download(request, pk, attachment_id):
    article = readable_article(request, pk)
    attachment = get_in_organization_or_404(
        Attachment, request.organization, pk=attachment_id, article=article
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
