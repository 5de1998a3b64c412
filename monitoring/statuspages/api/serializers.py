"""Status pages, components, notices and webhook subscribers in the REST API."""

from __future__ import annotations

from rest_framework import serializers

from incidents.models import Incident, MaintenanceWindow, Service
from monitoring.models import Monitor
from monitoring.statuspages.models import (
    ComponentStatus,
    Impact,
    NoticeKind,
    NoticeStatus,
    StatusComponent,
    StatusNotice,
    StatusNoticeUpdate,
    StatusPage,
    StatusSubscriber,
)
from monitoring.statuspages.selectors import component_statuses
from opsplatform.api.serializers import BoundedDateTimeField, StrictModelSerializer, StrictSerializer


class _OrgField(serializers.PrimaryKeyRelatedField):
    """An id among the caller organization's rows only (another's reads as missing)."""

    model = None

    def get_queryset(self):
        return self.model.objects.for_organization(self.context["organization"])


class MonitorField(_OrgField):
    model = Monitor


class ServiceField(_OrgField):
    model = Service


class IncidentField(_OrgField):
    model = Incident


class WindowField(_OrgField):
    model = MaintenanceWindow


class StatusPageSerializer(StrictModelSerializer):
    slug = serializers.SlugField(
        max_length=60, required=False, help_text="Defaults to the organization's slug."
    )
    public_url = serializers.SerializerMethodField()

    class Meta:
        model = StatusPage
        fields = [
            "id",
            "slug",
            "title",
            "description",
            "custom_domain",
            "published",
            "subscriptions_enabled",
            "public_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "public_url", "created_at", "updated_at"]

    def get_public_url(self, page) -> str:
        request = self.context.get("request")
        path = f"/status/{page.slug}/"
        return request.build_absolute_uri(path) if request else path


class StatusPageUpdateSerializer(StatusPageSerializer):
    title = serializers.CharField(max_length=150, required=False)


class ComponentSerializer(StrictModelSerializer):
    monitors = MonitorField(many=True, required=False)
    services = ServiceField(many=True, required=False)
    status = serializers.SerializerMethodField(help_text="The state the public page shows now.")

    class Meta:
        model = StatusComponent
        fields = [
            "id",
            "page",
            "name",
            "description",
            "group",
            "position",
            "show_uptime",
            "monitors",
            "services",
            "status",
        ]
        read_only_fields = ["id", "page", "status"]

    def get_status(self, component) -> str:
        # Computed when the answer is rendered (after a write), once per answer.
        statuses = self.context.get("statuses")
        if statuses is None:
            statuses = self.context["statuses"] = component_statuses(component.page)
        return statuses.get(component.pk, ComponentStatus.OPERATIONAL)


class ComponentUpdateSerializer(ComponentSerializer):
    name = serializers.CharField(max_length=150, required=False)


class ComponentStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


class NoticeUpdateSerializer(serializers.ModelSerializer):
    transition = serializers.CharField(
        read_only=True,
        help_text="`start` or `end` when the maintenance tick posted this update itself; empty otherwise.",
    )
    component_states = ComponentStateSerializer(
        many=True, read_only=True, help_text="Each component's state right after this update."
    )

    class Meta:
        model = StatusNoticeUpdate
        fields = ["id", "status", "body", "notify", "created_at", "transition", "component_states"]


class NoticeSerializer(serializers.ModelSerializer):
    updates = NoticeUpdateSerializer(many=True, read_only=True)
    components = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = StatusNotice
        fields = [
            "id",
            "kind",
            "title",
            "status",
            "impact",
            "component_status",
            "components",
            "scheduled_for",
            "scheduled_until",
            "incident",
            "maintenance_window",
            "created_at",
            "updated_at",
            "resolved_at",
            "updates",
        ]


class PostUpdateSerializer(StrictSerializer):
    """Either continue a notice (``notice``) or open one (``title``, and for maintenance its times)."""

    notice = serializers.IntegerField(required=False, help_text="An open notice of this page to update.")
    kind = serializers.ChoiceField(choices=NoticeKind.choices, required=False, default=NoticeKind.INCIDENT)
    title = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=NoticeStatus.choices, required=False)
    body = serializers.CharField(max_length=5000)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False, default=Impact.MINOR)
    component_status = serializers.ChoiceField(choices=ComponentStatus.choices, required=False)
    components = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=200)
    incident = IncidentField(required=False, allow_null=True)
    maintenance_window = WindowField(required=False, allow_null=True)
    scheduled_for = BoundedDateTimeField(required=False)
    scheduled_until = BoundedDateTimeField(required=False)
    notify = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        if "notice" in attrs:
            extra = set(attrs) - {"notice", "status", "body", "notify", "component_status", "kind", "impact"}
            if extra:
                raise serializers.ValidationError(
                    {name: ["Not with `notice`: an update has a status and a body."] for name in extra}
                )
            if "status" not in attrs:
                raise serializers.ValidationError({"status": ["Required to update a notice."]})
        elif not attrs.get("title"):
            raise serializers.ValidationError({"title": ["Required to open a notice (or give `notice`)."]})
        return attrs


class WebhookSubscriberSerializer(StrictModelSerializer):
    url = serializers.CharField(
        max_length=2000,
        write_only=True,
        help_text="http(s) endpoint that receives a signed JSON POST per notice update. Never shown again "
        "in full: answers carry `endpoint` (scheme and host).",
    )
    description = serializers.CharField(max_length=150, required=False, allow_blank=True)
    endpoint = serializers.CharField(read_only=True, help_text="Scheme and host of the URL.")
    active = serializers.BooleanField(read_only=True, help_text="False once disabled.")

    class Meta:
        model = StatusSubscriber
        fields = [
            "id",
            "page",
            "url",
            "endpoint",
            "description",
            "active",
            "created_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_delivery_at",
            "last_delivery_ok",
            "last_delivery_result",
        ]
        read_only_fields = [
            "id",
            "page",
            "endpoint",
            "active",
            "created_at",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_delivery_at",
            "last_delivery_ok",
            "last_delivery_result",
        ]


class IssuedWebhookSerializer(WebhookSubscriberSerializer):
    signing_secret = serializers.SerializerMethodField(
        help_text="The HMAC-SHA256 signing secret (`whsec_…`), shown only in this answer."
    )

    class Meta(WebhookSubscriberSerializer.Meta):
        fields = [*WebhookSubscriberSerializer.Meta.fields, "signing_secret"]
        read_only_fields = [*WebhookSubscriberSerializer.Meta.read_only_fields, "signing_secret"]

    def get_signing_secret(self, subscriber) -> str:
        return self.context.get("signing_secret", "")
