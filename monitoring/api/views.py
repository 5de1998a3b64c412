"""``/api/v1/monitors/``: monitors (CRUD, pause, resume) and their check results."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.eventlog.pagination import paginated_response
from monitoring import services
from monitoring.api import serializers as s
from monitoring.eventlogs import CHECK_RESULTS
from monitoring.locations.services import monitor_set_locations
from monitoring.models import Monitor
from opsplatform.api.pagination import TimeOrderedCursorPagination
from opsplatform.api.viewsets import TenantCrudViewSet, service_errors
from opsplatform.core.capabilities import Capability

FIELDS = tuple(s.MonitorSerializer.Meta.fields)


class ResultsPagination(TimeOrderedCursorPagination):
    ordering = ("-checked_at", "-id")
    page_size = 50


@extend_schema_view(
    list=extend_schema(summary="List monitors", description="Filter with `?state=down` or `?kind=http`."),
    retrieve=extend_schema(summary="Retrieve a monitor"),
    create=extend_schema(
        summary="Create a monitor",
        description="At least `name`, `kind`, `target` and `interval_seconds` (10 s or more). The first "
        "check runs at the next tick. A heartbeat monitor's answer carries its `ping_url`, shown once.",
    ),
    partial_update=extend_schema(summary="Update a monitor", description="The kind cannot change."),
    destroy=extend_schema(
        summary="Delete a monitor", responses={204: OpenApiResponse(description="Deleted.")}
    ),
)
class MonitorViewSet(TenantCrudViewSet):
    queryset = Monitor.objects.select_related("service").prefetch_related("placements__location")
    serializer_class = s.MonitorSerializer
    update_serializer_class = s.MonitorUpdateSerializer
    lookup_value_regex = r"[0-9]+"
    list_id_filters = {"service": "service_id"}
    capabilities = {
        "list": Capability.MONITOR_VIEW,
        "retrieve": Capability.MONITOR_VIEW,
        "results": Capability.MONITOR_VIEW,
        "create": Capability.MONITOR_MANAGE,
        "partial_update": Capability.MONITOR_MANAGE,
        "destroy": Capability.MONITOR_MANAGE,
        "pause": Capability.MONITOR_MANAGE,
        "resume": Capability.MONITOR_MANAGE,
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            for param in ("state", "kind"):
                value = self.request.query_params.get(param)
                if value:
                    queryset = queryset.filter(**{param: value})
        return queryset

    @transaction.atomic
    def service_create(self, *, actor, data):
        names, quorum = data.pop("location_names", None), data.pop("quorum", None)
        monitor = services.monitor_create(actor=actor, **data)
        if names is not None or quorum is not None:
            monitor = monitor_set_locations(
                actor=actor, monitor=monitor, locations=names or ["local"], quorum=quorum or 1
            )
        return monitor

    @transaction.atomic
    def service_update(self, *, actor, instance, data):
        names, quorum = data.pop("location_names", None), data.pop("quorum", None)
        monitor = services.monitor_update(actor=actor, monitor=instance, **data)
        if names is not None or quorum is not None:
            monitor = monitor_set_locations(
                actor=actor,
                monitor=monitor,
                locations=names if names is not None else monitor.location_names,
                quorum=quorum if quorum is not None else min(monitor.quorum, len(names or [1])),
            )
        return Monitor.objects.prefetch_related("placements__location").get(pk=monitor.pk)

    def service_destroy(self, *, actor, instance):
        services.monitor_delete(actor=actor, monitor=instance)

    def _act(self, call):
        monitor = self.get_object()
        s.NoBodySerializer(data=self.request.data).is_valid(raise_exception=True)
        with service_errors():
            monitor = call(actor=self.actor, monitor=monitor)
        return Response(s.MonitorSerializer(monitor, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Pause a monitor",
        description="No checks, no alerts until resumed. Already paused: unchanged.",
        request=s.NoBodySerializer,
        responses=s.MonitorSerializer,
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(services.monitor_pause)

    @extend_schema(
        summary="Resume a monitor",
        description="Back to `pending` with fresh counters; checked at the next tick.",
        request=s.NoBodySerializer,
        responses=s.MonitorSerializer,
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(services.monitor_resume)

    @extend_schema(summary="A monitor's check results", responses=s.CheckResultSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=ResultsPagination)
    def results(self, request, pk=None):
        monitor = self.get_object()
        return paginated_response(
            request,
            CHECK_RESULTS,
            {"monitor_id": monitor.pk},
            s.CheckResultSerializer,
            page_size=ResultsPagination.page_size,
        )
