"""On-call cover in the REST API: ``/api/v1/overrides/`` and ``/api/v1/swaps/``, the overrides and
swaps of the organization's schedules, and the answer to a proposed one.

A member who hands their shifts to a colleague only proposes it (``notifications.services.overrides``);
the colleague accepts or declines here, and a holder of ``schedule.manage`` may answer for them with
``on_behalf``. Accepting a cover that is already active is a 409 (the request changed nothing);
a declined proposal is gone, so answering it again is a 404.
"""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from notifications.api.serializers import MemberField, OverrideSerializer
from notifications.models import CoverStatus, ScheduleOverride, ShiftSwap
from notifications.services import overrides as services
from opsplatform.api.exceptions import Conflict
from opsplatform.api.problems import PROBLEM_CONTENT_TYPE
from opsplatform.api.schema import ProblemSerializer
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer
from opsplatform.api.viewsets import TenantViewSetMixin, service_errors
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"


class CoverOverrideSerializer(OverrideSerializer):
    class Meta(OverrideSerializer.Meta):
        fields = ["id", "schedule", "user", "replaces", "starts_at", "ends_at", "note", "status"]
        fields += ["created_by", "created_at"]
        read_only_fields = fields


class SwapSerializer(StrictModelSerializer):
    first_user = MemberField()
    second_user = MemberField()

    class Meta:
        model = ShiftSwap
        fields = ["id", "schedule", "first_user", "second_user", "starts_at", "ends_at", "note", "status"]
        fields += ["created_by", "created_at"]
        read_only_fields = fields


class AnswerSerializer(StrictSerializer):
    on_behalf = serializers.BooleanField(
        default=False,
        help_text="Answer for the person asked (needs `schedule.manage`); the ledger records it.",
    )


CONFLICT = OpenApiResponse(ProblemSerializer, description="The cover is already active: nothing changed.")


def _flag(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationError({name: ["`true` or `false`."]})
    return raw == "true"


class CoverViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The overrides (or swaps) of the organization's schedules that have not ended yet."""

    lookup_value_regex = ID_PATTERN
    #: the fields naming the people a cover gives shifts to (its possible "asked")
    takers: tuple[str, ...] = ()
    capabilities = {
        "list": Capability.TEAM_VIEW,
        "retrieve": Capability.TEAM_VIEW,
        # The service decides who may answer (the person asked, or a manager on their behalf).
        "accept": Capability.INCIDENT_ACKNOWLEDGE,
        "decline": Capability.INCIDENT_ACKNOWLEDGE,
    }

    def get_queryset(self):
        queryset = super().get_queryset().filter(ends_at__gt=timezone.now())
        if self.action != "list":
            return queryset
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in CoverStatus.values:
                raise ValidationError({"status": [f"One of {', '.join(CoverStatus.values)}."]})
            queryset = queryset.filter(status=wanted)
        if _flag(self.request, "awaiting_me"):
            me = self.actor.user.pk if self.actor.user is not None else None
            asked = Q()
            for field in self.takers:
                asked |= Q(**{f"{field}_id": me})
            queryset = queryset.filter(asked, status=CoverStatus.PROPOSED).exclude(created_by_id=me)
        return queryset

    def _answer_input(self, request) -> bool:
        serializer = AnswerSerializer(data=request.data if request.data else {})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["on_behalf"]

    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        cover = self.get_object()
        on_behalf = self._answer_input(request)
        with service_errors():
            try:
                cover = services.cover_accept(
                    actor=self.actor, cover=cover, on_behalf=on_behalf, again_is_error=True
                )
            except services.CoverDecided as exc:
                raise Conflict(str(exc)) from exc
        return Response(self.get_serializer(cover).data)

    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        cover = self.get_object()
        on_behalf = self._answer_input(request)
        with service_errors():
            try:
                services.cover_decline(actor=self.actor, cover=cover, on_behalf=on_behalf)
            except services.CoverDecided as exc:
                raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=CoverStatus.values, description="Only covers in this state."),
    OpenApiParameter(
        "awaiting_me",
        OpenApiTypes.BOOL,
        description="`true`: only proposals that wait for the caller's answer.",
    ),
]


def _documented(noun: str, serializer):
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}s",
            description=f"The {noun}s of the organization's schedules that have not ended yet.",
            parameters=LIST_PARAMETERS,
        ),
        retrieve=extend_schema(summary=f"Retrieve a{'n' if noun[0] in 'aeiou' else ''} {noun}"),
        accept=extend_schema(
            summary=f"Accept a proposed {noun}",
            description="By the person it gives shifts to; with `on_behalf`, by a holder of "
            "`schedule.manage` for them. From then on it applies.",
            request=AnswerSerializer,
            responses={200: serializer, (409, PROBLEM_CONTENT_TYPE): CONFLICT},
        ),
        decline=extend_schema(
            summary=f"Decline a proposed {noun}",
            description="By the person it gives shifts to; with `on_behalf`, by a holder of "
            "`schedule.manage` for them. The proposal is removed; the ledger keeps the answer.",
            request=AnswerSerializer,
            responses={
                204: OpenApiResponse(description="Declined and removed."),
                (409, PROBLEM_CONTENT_TYPE): CONFLICT,
            },
        ),
    )


@_documented("override", CoverOverrideSerializer)
class OverrideViewSet(CoverViewSet):
    queryset = ScheduleOverride.objects.select_related("user", "replaces").order_by("starts_at", "id")
    serializer_class = CoverOverrideSerializer
    takers = ("user",)


@_documented("swap", SwapSerializer)
class SwapViewSet(CoverViewSet):
    queryset = ShiftSwap.objects.select_related("first_user", "second_user").order_by("starts_at", "id")
    serializer_class = SwapSerializer
    takers = ("first_user", "second_user")
