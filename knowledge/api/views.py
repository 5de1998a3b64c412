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
        "query stand in when nothing matches (a typo).",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Search query."),
            OpenApiParameter("space", OpenApiTypes.INT),
            OpenApiParameter("tag", OpenApiTypes.STR),
            OpenApiParameter("service", OpenApiTypes.INT),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: SEARCH_RESPONSE},
    ),
    retrieve=extend_schema(operation_id="articles_retrieve", summary="Retrieve an article"),
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
        space = _space(actor, _id_param(request, "space"))
        space_ids = [space.pk] if space else list(readable_spaces(actor).values_list("pk", flat=True))
        tag = (request.query_params.get("tag") or "").strip().lower() or None
        service_id = _id_param(request, "service")
        page = _id_param(request, "page") or 1
        query = (request.query_params.get("q") or "").strip()
        offset = (page - 1) * SEARCH_PAGE
        if query:
            hits = search(
                actor.organization,
                query,
                Filters(space_ids=space_ids, tag=tag, service_id=service_id),
                limit=SEARCH_PAGE + 1,
                snippets=SEARCH_PAGE,
                offset=offset,
            )
            results = [s.SearchHitSerializer(hit).data for hit in hits[:SEARCH_PAGE]]
        else:
            articles = self.get_queryset().filter(space_id__in=space_ids)
            if tag:
                articles = articles.filter(tags__contains=[tag])
            if service_id:
                articles = articles.filter(services__id=service_id)
            hits = list(articles.order_by("-updated_at", "-id")[offset : offset + SEARCH_PAGE + 1])
            results = [
                {"id": a.pk, "title": a.title, "snippet": "", "rank": 0.0, "fuzzy": False}
                for a in hits[:SEARCH_PAGE]
            ]
        next_url = None
        if len(hits) > SEARCH_PAGE:
            params = request.query_params.copy()
            params["page"] = str(page + 1)
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({"results": results, "next": next_url})

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
