"""``/api/v1/integrations/``, ``/api/v1/routing-rules/`` and ``/api/v1/maintenance-windows/``.

Every write goes through ``incidents.ingest.services``. The ingestion endpoints themselves
(``/api/v1/integrations/<key>/alertmanager/`` …, ``/v2/enqueue``) live in ``incidents.ingest.views``:
key-authenticated, outside DRF. Their routes only match ``opi_…`` keys and fixed words, never the
numeric ids used here.
"""

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from audit.eventlog.pagination import paginated_response
from incidents.api import integration_serializers as s
from incidents.eventlogs import RAW_PAYLOADS
from incidents.ingest import services
from incidents.ingest.formats import webhook
from incidents.models import Alert, Integration, MaintenanceWindow, RoutingRule
from opsplatform.api.pagination import TimeOrderedCursorPagination
from opsplatform.api.viewsets import IssuesSecretMixin, TenantCrudViewSet, service_errors
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"


class RawPayloadPagination(TimeOrderedCursorPagination):
    ordering = ("-received_at", "-id")


class SuppressedPagination(TimeOrderedCursorPagination):
    ordering = ("-last_seen_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="List integrations"),
    retrieve=extend_schema(
        summary="Retrieve an integration",
        description="With its counters (including events not yet flushed to the database).",
    ),
    create=extend_schema(
        summary="Create an integration",
        description="The answer carries the integration key and the full ingestion URL, once: only the "
        "key's digest is kept.",
        request=s.IntegrationSerializer,
        responses={201: s.IssuedIntegrationSerializer},
    ),
    partial_update=extend_schema(
        summary="Update an integration",
        description="The kind cannot change. `hmac_secret` is write-only; an empty string clears it.",
        request=s.IntegrationUpdateSerializer,
        responses=s.IntegrationSerializer,
    ),
    destroy=extend_schema(
        summary="Delete an integration",
        description="Its key stops working at once; incidents and alerts stay.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class IntegrationViewSet(IssuesSecretMixin, TenantCrudViewSet):
    queryset = Integration.objects.select_related("service")
    serializer_class = s.IntegrationSerializer
    update_serializer_class = s.IntegrationUpdateSerializer
    lookup_value_regex = ID_PATTERN
    filterset_fields = ["kind", "enabled"]
    ordering_fields = ["name", "created_at", "kind"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.INTEGRATION_VIEW,
        "retrieve": Capability.INTEGRATION_VIEW,
        "create": Capability.INTEGRATION_MANAGE,
        "partial_update": Capability.INTEGRATION_MANAGE,
        "destroy": Capability.INTEGRATION_MANAGE,
        "rotate_key": Capability.INTEGRATION_MANAGE,
        "rule_order": Capability.INTEGRATION_MANAGE,
        "test_mapping": Capability.INTEGRATION_VIEW,
        "payloads": Capability.INTEGRATION_VIEW,
        "suppressed": Capability.INTEGRATION_VIEW,
    }

    issued_serializer_class = s.IssuedIntegrationSerializer

    def issue(self, *, actor, data):
        return services.integration_create(actor=actor, **data)

    def issued_parts(self, issued):
        return issued.integration, {"key": issued.key}

    def service_update(self, *, actor, instance, data):
        return services.integration_update(actor=actor, integration=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.integration_delete(actor=actor, integration=instance)

    @extend_schema(
        summary="Rotate an integration's key",
        description="Issues a new key, returned once. The previous key keeps working for `overlap_hours` "
        "so senders can be switched without losing alerts.",
        request=s.RotateKeySerializer,
        responses=s.IssuedIntegrationSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        integration = self.get_object()
        serializer = s.RotateKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            issued = services.integration_rotate_key(
                actor=self.actor, integration=integration, **serializer.validated_data
            )
        return self.issued(issued)

    @extend_schema(
        summary="Order the routing rules",
        description="Rules are evaluated in this order and the first match wins.",
        request=s.RuleOrderSerializer,
        responses=s.RoutingRuleSerializer(many=True),
    )
    @action(detail=True, methods=["post"], url_path="rule-order")
    def rule_order(self, request, pk=None):
        integration = self.get_object()
        serializer = s.RuleOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rules = services.routing_rules_reorder(
                actor=self.actor, integration=integration, rule_ids=serializer.validated_data["order"]
            )
        context = self.get_serializer_context()
        return Response(s.RoutingRuleSerializer(rules, many=True, context=context).data)

    @extend_schema(
        summary="Try a webhook mapping",
        description="Maps a sample payload with the integration's mapping (or the one given) and shows the "
        "alert events it yields, or what is wrong. Nothing is stored.",
        request=s.MappingTestSerializer,
        responses=s.MappingResultSerializer,
    )
    @action(detail=True, methods=["post"], url_path="test-mapping")
    def test_mapping(self, request, pk=None):
        integration = self.get_object()
        serializer = s.MappingTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = serializer.validated_data.get(
            "mapping", integration.webhook_mapping or webhook.DEFAULT_MAPPING
        )
        problems = webhook.validate_mapping(mapping)
        if problems:
            raise ValidationError({"mapping": list(problems.values())})
        return Response(webhook.preview(serializer.validated_data["payload"], mapping))

    @extend_schema(
        summary="Recent raw payloads",
        description="Accepted requests as they arrived (bounded in size, kept for the retention period), "
        "with "
        "what each produced. Newest first.",
        responses=s.RawPayloadSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=RawPayloadPagination, filter_backends=[])
    def payloads(self, request, pk=None):
        integration = self.get_object()
        filters = {"integration_id": integration.pk, "organization_id": self.organization.pk}
        return paginated_response(
            request, RAW_PAYLOADS, filters, s.RawPayloadSerializer, page_size=RawPayloadPagination.page_size
        )

    @extend_schema(
        summary="Suppressed alerts",
        description="Alerts of this integration recorded without an incident (maintenance window or routing "
        "rule).",
        responses=s.SuppressedAlertSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=SuppressedPagination, filter_backends=[])
    def suppressed(self, request, pk=None):
        integration = self.get_object()
        queryset = Alert.objects.filter(
            integration=integration, organization=self.organization, suppressed=True
        )
        page = self.paginate_queryset(queryset.order_by("-last_seen_at", "-id"))
        return self.get_paginated_response(s.SuppressedAlertSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="List routing rules",
        description="Filter with `?integration=<id>`; ordered as evaluated.",
        parameters=[
            OpenApiParameter("integration", int, description="Only this integration's rules."),
        ],
    ),
    retrieve=extend_schema(summary="Retrieve a routing rule"),
    create=extend_schema(
        summary="Create a routing rule",
        description="Appended after the integration's last rule unless `position` is given.",
    ),
    partial_update=extend_schema(
        summary="Update a routing rule",
        request=s.RoutingRuleUpdateSerializer,
        responses=s.RoutingRuleSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a routing rule",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class RoutingRuleViewSet(TenantCrudViewSet):
    queryset = RoutingRule.objects.select_related("integration")
    serializer_class = s.RoutingRuleSerializer
    update_serializer_class = s.RoutingRuleUpdateSerializer
    list_id_filters = {"integration": "integration_id"}
    lookup_value_regex = ID_PATTERN
    filterset_fields = ["action", "enabled"]
    ordering_fields = ["position", "created_at"]
    ordering = ["integration", "position", "id"]
    capabilities = {
        "list": Capability.INTEGRATION_VIEW,
        "retrieve": Capability.INTEGRATION_VIEW,
        "create": Capability.INTEGRATION_MANAGE,
        "partial_update": Capability.INTEGRATION_MANAGE,
        "destroy": Capability.INTEGRATION_MANAGE,
    }

    def service_create(self, *, actor, data):
        data = dict(data)
        return services.routing_rule_create(actor=actor, integration=data.pop("integration"), **data)

    def service_update(self, *, actor, instance, data):
        return services.routing_rule_update(actor=actor, rule=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.routing_rule_delete(actor=actor, rule=instance)


@extend_schema_view(
    list=extend_schema(
        summary="List maintenance windows",
        parameters=[OpenApiParameter("service", int, description="Only this service's windows.")],
    ),
    retrieve=extend_schema(summary="Retrieve a maintenance window", description=""),
    create=extend_schema(
        summary="Create a maintenance window",
        description="For a service or for alerts matching label matchers; one-off "
        "(`starts_at` to `ends_at`) or weekly (`weekdays`, `start_time`, `duration_minutes` in "
        "`time_zone`). Alerts inside an active window are recorded as suppressed: no incident, "
        "nobody paged.",
    ),
    partial_update=extend_schema(
        summary="Update a maintenance window",
        request=s.MaintenanceWindowUpdateSerializer,
        responses=s.MaintenanceWindowSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a maintenance window",
        description="The alerts it suppressed stay recorded.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class MaintenanceWindowViewSet(TenantCrudViewSet):
    queryset = MaintenanceWindow.objects.select_related("service").annotate(
        suppressed_count=Count("suppressed_alerts")
    )
    serializer_class = s.MaintenanceWindowSerializer
    update_serializer_class = s.MaintenanceWindowUpdateSerializer
    list_id_filters = {"service": "service_id"}
    lookup_value_regex = ID_PATTERN
    filterset_fields = ["recurrence", "enabled"]
    ordering_fields = ["created_at", "starts_at", "name"]
    ordering = ["-created_at", "-id"]
    capabilities = {
        "list": Capability.INTEGRATION_VIEW,
        "retrieve": Capability.INTEGRATION_VIEW,
        "create": Capability.INTEGRATION_MANAGE,
        "partial_update": Capability.INTEGRATION_MANAGE,
        "destroy": Capability.INTEGRATION_MANAGE,
        "suppressed": Capability.INTEGRATION_VIEW,
    }

    def service_create(self, *, actor, data):
        return services.maintenance_window_create(actor=actor, **data)

    def service_update(self, *, actor, instance, data):
        return services.maintenance_window_update(actor=actor, window=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.maintenance_window_delete(actor=actor, window=instance)

    def _reread(self, window):
        return self.get_queryset().get(pk=window.pk)

    def perform_create(self, serializer):
        super().perform_create(serializer)
        serializer.instance = self._reread(serializer.instance)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        serializer.instance = self._reread(serializer.instance)

    @extend_schema(
        summary="Alerts a window suppressed",
        description="Newest first.",
        responses=s.SuppressedAlertSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=SuppressedPagination, filter_backends=[])
    def suppressed(self, request, pk=None):
        window = self.get_object()
        queryset = Alert.objects.filter(suppressed_window=window, organization=self.organization)
        page = self.paginate_queryset(queryset.order_by("-last_seen_at", "-id"))
        return self.get_paginated_response(s.SuppressedAlertSerializer(page, many=True).data)
