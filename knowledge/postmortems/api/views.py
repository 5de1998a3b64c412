"""``/api/v1/postmortems/`` and ``POST /api/v1/incidents/{id}/postmortem/``.

Writes are service calls. A save from a stale ``base_revision`` and any write to a published
postmortem answer 409 (problem+json); the review's guards answer 403 and a refused event 409.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.models import Incident
from opsplatform.api.exceptions import Conflict
from opsplatform.api.viewsets import ActorViewMixin, TenantViewSetMixin
from opsplatform.core.capabilities import Capability
from opsplatform.core.tenancy import get_in_organization_or_404
from workflows.api.errors import workflow_errors

from .. import exports, selectors, services
from ..errors import ReadOnly, RevisionConflict
from ..models import SECTION_KEYS, Postmortem
from . import serializers as s

ID_PATTERN = r"[0-9]+"


def _conflicts(call):
    try:
        return call()
    except (RevisionConflict, ReadOnly) as exc:
        raise Conflict(str(exc)) from exc


@extend_schema_view(
    list=extend_schema(summary="List postmortems", responses={200: s.PostmortemListSerializer(many=True)}),
    retrieve=extend_schema(
        summary="Retrieve a postmortem", description="Sections, facts, timeline, action items."
    ),
    partial_update=extend_schema(
        summary="Save a postmortem",
        description="A new revision; `base_revision` must be the latest, else 409 (someone saved first).",
        request=s.PostmortemUpdateSerializer,
        responses={200: s.PostmortemSerializer},
    ),
)
class PostmortemViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.PostmortemSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.POSTMORTEM_VIEW,
        "retrieve": Capability.POSTMORTEM_VIEW,
        "partial_update": Capability.POSTMORTEM_EDIT,
        "resync": Capability.POSTMORTEM_EDIT,
        "submit": Capability.POSTMORTEM_EDIT,
        "review": Capability.POSTMORTEM_VIEW,  # the run's guards decide who may publish
        "action_items": Capability.POSTMORTEM_EDIT,
        "runbook_verdicts": Capability.POSTMORTEM_EDIT,
        "export_markdown": Capability.POSTMORTEM_VIEW,
        "export_pdf": Capability.POSTMORTEM_VIEW,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.organization is None:
            return Postmortem.objects.none()
        if self.action == "list":
            queryset = selectors.postmortems_for_list(self.organization)
            if wanted := self.request.query_params.get("status"):
                queryset = queryset.filter(status=wanted)
            return queryset
        return selectors.postmortem_detail(self.organization)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization, "actor": self.actor}

    def get_serializer_class(self):
        if self.action == "list":
            return s.PostmortemListSerializer
        return s.PostmortemSerializer

    def _respond(self, postmortem, code=status.HTTP_200_OK):
        postmortem = self.get_queryset().get(pk=postmortem.pk)
        return Response(
            s.PostmortemSerializer(postmortem, context=self.get_serializer_context()).data, status=code
        )

    def partial_update(self, request, *args, **kwargs):
        postmortem = self.get_object()
        serializer = s.PostmortemUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        sections = {key: data.pop(key) for key in SECTION_KEYS if key in data}
        with workflow_errors():
            postmortem = _conflicts(
                lambda: services.postmortem_save(
                    actor=self.actor,
                    postmortem=postmortem,
                    base_revision=data["base_revision"],
                    title=data.get("title"),
                    sections=sections,
                    message=data.get("message", ""),
                )
            )
        return self._respond(postmortem)

    @extend_schema(
        summary="Re-sync the timeline from the ledger", request=None, responses={200: s.PostmortemSerializer}
    )
    @action(detail=True, methods=["post"])
    def resync(self, request, pk=None):
        postmortem = self.get_object()
        with workflow_errors():
            postmortem = _conflicts(
                lambda: services.postmortem_resync(actor=self.actor, postmortem=postmortem)
            )
        return self._respond(postmortem)

    @extend_schema(summary="Submit for review", request=None, responses={200: s.PostmortemSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        postmortem = self.get_object()
        with workflow_errors():
            postmortem = _conflicts(
                lambda: services.postmortem_submit(actor=self.actor, postmortem=postmortem)
            )
        return self._respond(postmortem)

    @extend_schema(
        summary="Send a review event",
        description="`publish` (a manager, by the built-in template) or `request_changes`.",
        request=s.ReviewEventSerializer,
        responses={200: s.PostmortemSerializer},
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        postmortem = self.get_object()
        serializer = s.ReviewEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            postmortem = services.postmortem_review_event(
                actor=self.actor, postmortem=postmortem, **serializer.validated_data
            )
        return self._respond(postmortem)

    @extend_schema(
        summary="Add an action item",
        description="Creates a workflows task (owner, due time) linked to the postmortem.",
        request=s.ActionItemCreateSerializer,
        responses={201: s.PostmortemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request, pk=None):
        postmortem = self.get_object()
        serializer = s.ActionItemCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            _conflicts(
                lambda: services.action_item_add(
                    actor=self.actor, postmortem=postmortem, **serializer.validated_data
                )
            )
        return self._respond(postmortem, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Judge the runbooks of its incidents",
        description="For each named runbook: `helped`, `wrong` or `not_used`, with a note; null removes "
        "a verdict. `wrong` flags the runbook stale (its `stale_reason` names the postmortem and the note) "
        "until it is edited or marked reviewed. An article that is not a runbook of the organization the "
        "caller may read is a 400; a published postmortem answers 409.",
        request=s.RunbookVerdictsSerializer,
        responses={200: s.PostmortemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="runbook-verdicts")
    def runbook_verdicts(self, request, pk=None):
        postmortem = self.get_object()
        serializer = s.RunbookVerdictsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            postmortem = _conflicts(
                lambda: services.runbook_verdicts_set(
                    actor=self.actor,
                    postmortem=postmortem,
                    verdicts=[dict(v) for v in serializer.validated_data["runbook_verdicts"]],
                )
            )
        return self._respond(postmortem)

    @extend_schema(summary="Export as Markdown", responses={(200, "text/markdown"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="export/markdown")
    def export_markdown(self, request, pk=None):
        postmortem = self.get_object()
        response = HttpResponse(exports.to_markdown(postmortem), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="postmortem-{postmortem.pk}.md"'
        return response

    @extend_schema(summary="Export as PDF", responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="export/pdf")
    def export_pdf(self, request, pk=None):
        postmortem = self.get_object()
        response = HttpResponse(exports.to_pdf(postmortem), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="postmortem-{postmortem.pk}.pdf"'
        return response


class IncidentPostmortemView(ActorViewMixin, APIView):
    capabilities = {"post": Capability.POSTMORTEM_EDIT}

    @extend_schema(
        summary="Draft the incident's postmortem",
        description="Prefilled from the ledger; 201 when drafted, 200 with the existing one.",
        request=None,
        responses={
            201: s.PostmortemSerializer,
            200: s.PostmortemSerializer,
            400: OpenApiResponse(description="Not resolved."),
        },
        operation_id="incidents_postmortem_create",
    )
    def post(self, request, incident_id: int):
        incident = get_in_organization_or_404(Incident, self.organization, pk=incident_id)
        with workflow_errors({"incident": "incident"}):
            postmortem, created = services.postmortem_draft(actor=self.actor, incident=incident)
        data = s.PostmortemSerializer(
            selectors.postmortem_detail(self.organization).get(pk=postmortem.pk),
            context={"organization": self.organization, "actor": self.actor},
        ).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
