"""``/api/v1/articles/`` and ``/api/v1/knowledge-spaces/``.

Reads go through the space access rules (an article in a space the caller cannot read is a 404);
writes call the knowledge services; a save on an outdated base revision answers 409.
"""

from contextlib import contextmanager

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from knowledge.access import readable_spaces
from knowledge.api import serializers as s
from knowledge.effectiveness import stale_runbook_ids
from knowledge.errors import RevisionConflict
from knowledge.models import Article, ArticleRevision, Space
from knowledge.search import Filters, search
from knowledge.selectors import visible_articles
from knowledge.services import articles as article_services
from knowledge.services import spaces as space_services
from opsplatform.accounts.models import Team
from opsplatform.api.exceptions import Conflict
from opsplatform.api.schema import ProblemAutoSchema
from opsplatform.api.viewsets import TenantViewSetMixin, service_errors
from opsplatform.core.capabilities import Capability
from opsplatform.core.ids import parse_id

SEARCH_PAGE = 20


@contextmanager
def knowledge_errors():
    with service_errors():
        try:
            yield
        except RevisionConflict as exc:
            raise Conflict(str(exc)) from exc


def _id_param(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None:
        raise ValidationError({name: ["An id."]})
    return value


def _space(actor, space_id):
    if space_id is None:
        return None
    space = readable_spaces(actor).filter(pk=space_id).first()
    if space is None:
        raise ValidationError({"space": ["No such space."]})
    return space


def _stale_ids(organization, hits) -> set[int]:
    """The stale runbooks among a page of search hits, from the columns the search read with them:
    no query unless the page holds a runbook."""
    runbooks = [
        Article(
            pk=hit.id,
            organization_id=organization.pk,
            runbook_for=hit.runbook_for,
            updated_at=hit.updated_at,
            reviewed_at=hit.reviewed_at,
        )
        for hit in hits
        if hit.runbook_for is not None
    ]
    return stale_runbook_ids(runbooks)


def _search_page(organization, query, filters, window) -> tuple[bool, list[dict]]:
    """(whether more follow, the rows of one page of ranked hits)."""
    offset, limit = window
    hits = search(organization, query, filters, limit=limit, snippets=SEARCH_PAGE, offset=offset)
    shown = hits[:SEARCH_PAGE]
    stale = _stale_ids(organization, shown)
    rows = [
        {
            "id": hit.id,
            "title": hit.title,
            "snippet": hit.snippet,
            "rank": hit.rank,
            "fuzzy": hit.fuzzy,
            "stale": hit.id in stale,
        }
        for hit in shown
    ]
    return len(hits) > SEARCH_PAGE, rows


def _recent_page(organization, filters, window) -> tuple[bool, list[dict]]:
    """(whether more follow, the rows of one page of the newest articles), in the shape of hits."""
    offset, limit = window
    articles = Article.objects.filter(organization=organization, space__in=filters.space_ids).only(
        "id", "organization_id", "title", "runbook_for", "updated_at", "reviewed_at"
    )
    if filters.tag:
        articles = articles.filter(tags__contains=[filters.tag])
    if filters.service_id:
        articles = articles.filter(services__id=filters.service_id)
    found = list(articles.order_by("-updated_at", "-id")[offset : offset + limit])
    shown = found[:SEARCH_PAGE]
    stale = stale_runbook_ids(shown)
    rows = [
        {"id": a.pk, "title": a.title, "snippet": "", "rank": 0.0, "fuzzy": False, "stale": a.pk in stale}
        for a in shown
    ]
    return len(found) > SEARCH_PAGE, rows


class SearchPageSchema(ProblemAutoSchema):
    """The list answers one page object (ranked hits and the next link), not a bare array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False if self.view.action == "list" else super()._is_list_view(serializer)


SEARCH_RESPONSE = inline_serializer(
    "ArticleSearchPage",
    {"results": s.SearchHitSerializer(many=True), "next": serializers.CharField(allow_null=True)},
)


@extend_schema_view(
    list=extend_schema(
        # A list whose answer is not a paged list of the model: named, so the detail keeps
        # "articles_retrieve" (the schema's links from creates and updates point at it).
        operation_id="articles_list",
        summary="List or search articles",
        description="Without `q`: the readable articles, newest first. With `q` (websearch syntax: "
        '`"phrase"`, `or`, `-word`): ranked hits with a highlighted `snippet`; titles similar to the '
        "query stand in when nothing matches (a typo). No total count: a `next` link while more "
        "follow. Each row flags a `stale` runbook.",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search query."),
            OpenApiParameter("space", OpenApiTypes.INT),
            OpenApiParameter("tag", OpenApiTypes.STR),
            OpenApiParameter("service", OpenApiTypes.INT),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: SEARCH_RESPONSE},
    ),
    retrieve=extend_schema(
        operation_id="articles_retrieve",
        summary="Retrieve an article",
        description="A runbook carries its `effectiveness` and its `stale` flag with the reason.",
    ),
    create=extend_schema(
        summary="Create an article",
        description="Without `space` it lands in the organization-wide space.",
        request=s.ArticleCreateSerializer,
        responses={201: s.ArticleSerializer},
    ),
    partial_update=extend_schema(
        summary="Save a new revision",
        description="Names the `base_revision` it was made on; 409 when someone saved since.",
        request=s.ArticleUpdateSerializer,
        responses={200: s.ArticleSerializer},
    ),
)
class ArticleViewSet(TenantViewSetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ArticleSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = r"[0-9]+"
    filter_backends = []
    schema = SearchPageSchema()
    pagination_class = None  # list pages itself: a search is ranked, not a queryset
    capabilities = {
        "list": Capability.KNOWLEDGE_VIEW,
        "retrieve": Capability.KNOWLEDGE_VIEW,
        "revisions": Capability.KNOWLEDGE_VIEW,
        "create": Capability.KNOWLEDGE_WRITE,
        "partial_update": Capability.KNOWLEDGE_WRITE,
        "restore": Capability.KNOWLEDGE_WRITE,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.actor is None:
            return Article.objects.none()
        return visible_articles(self.actor).defer(None).prefetch_related("services")

    def list(self, request):
        actor = self.actor
        space_id = _id_param(request, "space")
        # The reader's spaces stay a subquery of the one statement that pages the articles.
        spaces = readable_spaces(actor)
        if space_id is not None:
            spaces = spaces.filter(pk=space_id)
        filters = Filters(
            space_ids=spaces,
            tag=(request.query_params.get("tag") or "").strip().lower() or None,
            service_id=_id_param(request, "service"),
        )
        page = _id_param(request, "page") or 1
        query = (request.query_params.get("q") or "").strip()
        window = ((page - 1) * SEARCH_PAGE, SEARCH_PAGE + 1)
        if query:
            more, rows = _search_page(actor.organization, query, filters, window)
        else:
            more, rows = _recent_page(actor.organization, filters, window)
        if not rows and space_id is not None:
            # A row proves its space readable; only an empty answer must tell "no such space".
            _space(actor, space_id)
        next_url = None
        if more:
            params = request.query_params.copy()
            params["page"] = str(page + 1)
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"results": s.SearchHitSerializer(rows, many=True).data, "next": next_url})

    def create(self, request):
        data = s.ArticleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["space"] = _space(self.actor, fields.get("space"))
        with knowledge_errors():
            article = article_services.article_create(actor=self.actor, **fields)
        return Response(s.ArticleSerializer(article).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        article = self.get_object()
        data = s.ArticleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        base = fields.pop("base_revision")
        if "space" in fields:
            fields["space"] = _space(self.actor, fields["space"])
        with knowledge_errors():
            article = article_services.article_save(
                actor=self.actor, article=article, base_revision=base, **fields
            )
        return Response(s.ArticleSerializer(article).data)

    @extend_schema(summary="Revisions of an article", responses={200: s.RevisionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def revisions(self, request, pk=None):
        article = self.get_object()
        revisions = article.revisions.select_related("author").order_by("-number")
        return Response(s.RevisionSerializer(revisions, many=True).data)

    @extend_schema(
        summary="Restore a revision",
        description="Brings an old revision back as a new revision.",
        request=s.RestoreSerializer,
        responses={200: s.ArticleSerializer},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        article = self.get_object()
        data = s.RestoreSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = ArticleRevision.objects.filter(article=article, pk=data.validated_data["revision"]).first()
        if revision is None:
            raise ValidationError({"revision": ["Not a revision of this article."]})
        with knowledge_errors():
            article = article_services.article_restore(actor=self.actor, article=article, revision=revision)
        return Response(s.ArticleSerializer(article).data)


@extend_schema_view(
    list=extend_schema(summary="Knowledge spaces the caller may read"),
    create=extend_schema(summary="Create a team space", request=s.SpaceCreateSerializer),
)
class SpaceViewSet(TenantViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.SpaceSerializer
    queryset = Space.objects.all()
    http_method_names = ["get", "post", "head", "options"]
    pagination_class = None
    filter_backends = []
    capabilities = {"list": Capability.KNOWLEDGE_VIEW, "create": Capability.KNOWLEDGE_MANAGE}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.actor is None:
            return Space.objects.none()
        space_services.organization_space(self.actor.organization)
        return readable_spaces(self.actor).order_by("kind", "name")

    def create(self, request):
        data = s.SpaceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = Team.objects.filter(organization=self.organization, pk=data.validated_data["team"]).first()
        if team is None:
            raise ValidationError({"team": ["No such team."]})
        with knowledge_errors():
            space = space_services.space_create(
                actor=self.actor,
                name=data.validated_data["name"],
                team=team,
                description=data.validated_data["description"],
            )
        return Response(s.SpaceSerializer(space).data, status=status.HTTP_201_CREATED)
