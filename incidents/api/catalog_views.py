"""``/api/v1/services/``: the service catalog. Writes go through ``incidents.services``."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.filters import OrderingFilter

from incidents import services
from incidents.api import serializers as s
from incidents.models import Service
from incidents.selectors import services_for_list
from opsplatform.api.viewsets import TenantViewSetMixin
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"


@extend_schema_view(
    list=extend_schema(
        summary="List services",
        description="The organization's services, each with its count of open incidents.",
    ),
    retrieve=extend_schema(summary="Retrieve a service"),
    create=extend_schema(
        summary="Create a service",
        description="The slug is derived from the name and must be unique in the organization.",
    ),
    partial_update=extend_schema(summary="Update a service"),
    destroy=extend_schema(
        summary="Delete a service",
        description="Its incidents stay, without a service.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class ServiceViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Service.objects.all()
    serializer_class = s.ServiceSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "created_at", "tier"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.SERVICE_VIEW,
        "retrieve": Capability.SERVICE_VIEW,
        "create": Capability.SERVICE_MANAGE,
        "partial_update": Capability.SERVICE_MANAGE,
        "destroy": Capability.SERVICE_MANAGE,
    }

    def get_queryset(self):
        organization = self.organization
        if getattr(self, "swagger_fake_view", False) or organization is None:
            return Service.objects.none()
        return services_for_list(organization)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    # Re-read through the list query so the answer carries ``open_incidents`` like every other.
    def service_create(self, *, actor, data):
        service = services.service_create(actor=actor, **data)
        return self.get_queryset().get(pk=service.pk)

    def service_update(self, *, actor, instance, data):
        service = services.service_update(actor=actor, service=instance, **data)
        return self.get_queryset().get(pk=service.pk)

    def service_destroy(self, *, actor, instance):
        services.service_delete(actor=actor, service=instance)
