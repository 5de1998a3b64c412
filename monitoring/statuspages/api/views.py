"""``/api/v1/status-pages/``: status pages (CRUD), their components, their public notices and their
webhook subscribers; ``/api/v1/status-webhooks/{id}/``: one webhook subscriber."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from monitoring.statuspages import selectors, services
from monitoring.statuspages.api import serializers as s
from monitoring.statuspages.models import (
    StatusComponent,
    StatusNotice,
    StatusPage,
    StatusSubscriber,
    SubscriberKind,
)
from opsplatform.api.viewsets import NO_STORE, TenantCrudViewSet, TenantViewSetMixin, service_errors
from opsplatform.core.capabilities import Capability


@extend_schema_view(
    list=extend_schema(summary="List status pages"),
    retrieve=extend_schema(summary="Retrieve a status page"),
    create=extend_schema(
        summary="Create a status page",
        description="Public at `/status/<slug>/` once `published`; `slug` defaults to the organization's.",
    ),
    partial_update=extend_schema(summary="Update a status page"),
    destroy=extend_schema(
        summary="Delete a status page", responses={204: OpenApiResponse(description="Deleted.")}
    ),
)
class StatusPageViewSet(TenantCrudViewSet):
    queryset = StatusPage.objects.all()
    serializer_class = s.StatusPageSerializer
    update_serializer_class = s.StatusPageUpdateSerializer
    lookup_value_regex = r"[0-9]+"
    capabilities = {
        "list": Capability.MONITOR_VIEW,
        "retrieve": Capability.MONITOR_VIEW,
        "create": Capability.MONITOR_MANAGE,
        "partial_update": Capability.MONITOR_MANAGE,
        "destroy": Capability.MONITOR_MANAGE,
        "components": Capability.MONITOR_VIEW,
        "add_component": Capability.MONITOR_MANAGE,
        "updates": Capability.MONITOR_VIEW,
        # Public updates are part of incident response: operators post them.
        "post_update": Capability.INCIDENT_MANAGE,
        "webhooks": Capability.MONITOR_VIEW,
        "add_webhook": Capability.MONITOR_MANAGE,
    }

    def service_create(self, *, actor, data):
        return services.page_create(actor=actor, **data)

    def service_update(self, *, actor, instance, data):
        return services.page_update(actor=actor, page=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.page_delete(actor=actor, page=instance)

    @extend_schema(
        summary="A page's components, with the state each shows", responses=s.ComponentSerializer(many=True)
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def components(self, request, pk=None):
        page = self.get_object()
        context = {**self.get_serializer_context(), "statuses": selectors.component_statuses(page)}
        rows = page.components.prefetch_related("monitors", "services").order_by("position", "name")
        return Response(s.ComponentSerializer(rows, many=True, context=context).data)

    @extend_schema(
        summary="Add a component",
        description="Bind it to `monitors` and/or `services` of the organization.",
        request=s.ComponentSerializer,
        responses={201: s.ComponentSerializer},
    )
    @components.mapping.post
    def add_component(self, request, pk=None):
        page = self.get_object()
        serializer = s.ComponentSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with service_errors():
            component = services.component_create(actor=self.actor, page=page, **serializer.validated_data)
        return Response(
            s.ComponentSerializer(component, context=self.get_serializer_context()).data, status=201
        )

    @extend_schema(
        summary="A page's notices (incidents and maintenance) with their updates",
        responses=s.NoticeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def updates(self, request, pk=None):
        page = self.get_object()
        notices = StatusNotice.objects.filter(page=page).prefetch_related("updates", "components")[:100]
        return Response(s.NoticeSerializer(notices, many=True).data)

    @extend_schema(
        summary="Post a public update",
        description="With `notice`: a new update (status, body) to that open notice. Without: open a notice "
        "(`title`, `body`, `kind` incident or maintenance; maintenance needs `scheduled_for` and "
        "`scheduled_until`). Confirmed e-mail subscribers and enabled webhook subscribers are notified "
        "unless `notify` is false.",
        request=s.PostUpdateSerializer,
        responses={201: s.NoticeSerializer},
    )
    @updates.mapping.post
    def post_update(self, request, pk=None):
        page = self.get_object()
        serializer = s.PostUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        notify = data.pop("notify", True)
        with service_errors():
            if "notice" in data:
                notice = StatusNotice.objects.filter(page=page, pk=data.pop("notice")).first()
                if notice is None:
                    raise exceptions.ValidationError({"notice": ["Not a notice of this page."]})
                data.pop("kind", None)
                data.pop("impact", None)
                services.notice_update(actor=self.actor, notice=notice, notify=notify, **data)
            else:
                components = data.pop("components", [])
                notice = services.notice_open(
                    actor=self.actor, page=page, components=components, notify=notify, **data
                )
        notice = StatusNotice.objects.prefetch_related("updates", "components").get(pk=notice.pk)
        return Response(s.NoticeSerializer(notice).data, status=201)

    @extend_schema(
        summary="A page's webhook subscribers, with their last delivery",
        responses=s.WebhookSubscriberSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def webhooks(self, request, pk=None):
        page = self.get_object()
        rows = StatusSubscriber.objects.filter(page=page, kind=SubscriberKind.WEBHOOK).order_by(
            "created_at", "pk"
        )
        return Response(s.WebhookSubscriberSerializer(rows, many=True).data)

    @extend_schema(
        summary="Add a webhook subscriber",
        description="Every update of this page's notices (incidents, maintenance, including the automatic "
        "start and end of a maintenance) is POSTed to `url` as JSON, signed with HMAC-SHA256 "
        "(`X-OpsPlatform-Signature`, docs/webhooks.md). The answer carries `signing_secret`, shown only "
        "this once. A URL that is not http(s), carries credentials, or names an address the SSRF guard "
        "refuses answers 400.",
        request=s.WebhookSubscriberSerializer,
        responses={201: s.IssuedWebhookSerializer},
    )
    @webhooks.mapping.post
    def add_webhook(self, request, pk=None):
        page = self.get_object()
        serializer = s.WebhookSubscriberSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with service_errors():
            issued = services.webhook_add(actor=self.actor, page=page, **serializer.validated_data)
        body = s.IssuedWebhookSerializer(
            issued.subscriber, context={"signing_secret": issued.signing_secret}
        ).data
        return Response(body, status=201, headers=NO_STORE)


@extend_schema_view(
    retrieve=extend_schema(summary="Retrieve a status page component"),
    partial_update=extend_schema(
        summary="Update a component", description="`monitors`/`services` replace the bound sets."
    ),
    destroy=extend_schema(
        summary="Remove a component", responses={204: OpenApiResponse(description="Removed.")}
    ),
)
class ComponentViewSet(
    TenantViewSetMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = StatusComponent.objects.prefetch_related("monitors", "services")
    serializer_class = s.ComponentUpdateSerializer
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "patch", "delete", "head", "options"]
    capabilities = {
        "retrieve": Capability.MONITOR_VIEW,
        "partial_update": Capability.MONITOR_MANAGE,
        "destroy": Capability.MONITOR_MANAGE,
    }

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def service_update(self, *, actor, instance, data):
        return services.component_update(actor=actor, component=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.component_delete(actor=actor, component=instance)


@extend_schema_view(
    retrieve=extend_schema(summary="Retrieve a webhook subscriber"),
    destroy=extend_schema(
        summary="Remove a webhook subscriber",
        description="Its waiting deliveries are dropped with it.",
        responses={204: OpenApiResponse(description="Removed.")},
    ),
)
class WebhookSubscriberViewSet(
    TenantViewSetMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    queryset = StatusSubscriber.objects.filter(kind=SubscriberKind.WEBHOOK)
    serializer_class = s.WebhookSubscriberSerializer
    lookup_value_regex = r"[0-9]+"
    capabilities = {
        "retrieve": Capability.MONITOR_VIEW,
        "destroy": Capability.MONITOR_MANAGE,
        "enable": Capability.MONITOR_MANAGE,
    }

    def service_destroy(self, *, actor, instance):
        services.webhook_remove(actor=actor, subscriber=instance)

    @extend_schema(
        summary="Enable a disabled webhook subscriber",
        description="It receives the updates posted from now on; its dead letters stay dead.",
        request=None,
        responses={200: s.WebhookSubscriberSerializer},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        hook = self.get_object()
        with service_errors():
            hook = services.webhook_enable(actor=self.actor, subscriber=hook)
        return Response(s.WebhookSubscriberSerializer(hook).data)
