"""Shapes of integrations, routing rules, maintenance windows, raw payloads and suppressed alerts.

Ids of other objects (a service, a team) resolve inside the caller's organization only. Keys and
signing secrets are write-only or returned once: the key in the create and rotate-key answers, the
secret never.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.api.serializers import OrganizationScopedPrimaryKeyField
from incidents.ingest.conf import valid_rate
from incidents.ingest.integration_summary import ingestion_url, integration_counters
from incidents.ingest.maintenance import is_active
from incidents.ingest.matching import validate_matchers
from incidents.ingest.services import MAINTENANCE_WINDOW_FIELDS, ROUTING_RULE_FIELDS
from incidents.models import (
    Alert,
    Integration,
    MaintenanceWindow,
    Priority,
    RawPayload,
    Recurrence,
    RoutingAction,
    RoutingRule,
    Service,
    Severity,
)
from opsplatform.accounts.models import Team
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer, TimeZoneField

MATCHERS_HELP = (
    'List of `{"field": "labels.service" | "severity" | "source" | "title" | "status" | "dedup_key" | '
    '"group_key", "op": "equals" | "regex" | "exists", "value": "…", "negate": false}`; all must match.'
)


class CountersSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    deduplicated = serializers.IntegerField()
    dropped = serializers.IntegerField()
    last_received_at = serializers.DateTimeField(allow_null=True)


class IntegrationSerializer(StrictModelSerializer):
    service = OrganizationScopedPrimaryKeyField(
        queryset=Service.objects.all(), required=False, allow_null=True, help_text="Default service."
    )
    hmac_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=512,
        help_text="Grafana only: the contact point's HMAC secret (stored encrypted; empty clears it).",
    )
    has_hmac_secret = serializers.BooleanField(read_only=True)
    previous_key_expires_at = serializers.SerializerMethodField(
        help_text="Until when the key before the last rotation still works (null: it does not)."
    )
    counters = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Where senders post (`<key>` stands for the key).")
    throttle_rate = serializers.CharField(required=False, allow_blank=True, max_length=32)

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "kind",
            "service",
            "enabled",
            "url",
            "key_prefix",
            "key_rotated_at",
            "previous_key_expires_at",
            "hmac_secret",
            "has_hmac_secret",
            "hmac_header",
            "hmac_timestamp_header",
            "grouping",
            "group_window_seconds",
            "auto_resolve",
            "throttle_rate",
            "webhook_mapping",
            "heartbeat_period_seconds",
            "heartbeat_grace_seconds",
            "last_ping_at",
            "next_check_at",
            "counters",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "url",
            "key_prefix",
            "key_rotated_at",
            "previous_key_expires_at",
            "has_hmac_secret",
            "last_ping_at",
            "next_check_at",
            "counters",
            "created_at",
            "updated_at",
        ]

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("An integration needs a name.")
        return value.strip()

    def validate_throttle_rate(self, value):
        if value and not valid_rate(value):
            raise serializers.ValidationError('A rate like "600/min" (per s, min, hour or day).')
        return value

    def get_previous_key_expires_at(self, integration) -> str | None:
        if not integration.previous_key_active:
            return None
        return serializers.DateTimeField().to_representation(integration.previous_key_expires_at)

    @extend_schema_field(CountersSerializer)
    def get_counters(self, integration) -> dict:
        return CountersSerializer(integration_counters(integration)).data

    def get_url(self, integration) -> str:
        return ingestion_url(integration.kind)


class IntegrationUpdateSerializer(IntegrationSerializer):
    class Meta(IntegrationSerializer.Meta):
        read_only_fields = [*IntegrationSerializer.Meta.read_only_fields, "kind"]
        extra_kwargs = {"name": {"required": False}}


class IssuedIntegrationSerializer(IntegrationSerializer):
    key = serializers.SerializerMethodField(
        help_text="The integration key. Returned only in this response: only its digest is kept."
    )
    key_url = serializers.SerializerMethodField(help_text="The full ingestion URL with the key in it.")

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "key", "key_url"]
        read_only_fields = [*IntegrationSerializer.Meta.read_only_fields, "key", "key_url"]

    def get_key(self, integration) -> str:
        return self.context["key"]

    def get_key_url(self, integration) -> str:
        return ingestion_url(integration.kind, self.context["key"])


class RotateKeySerializer(StrictSerializer):
    overlap_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 30,
        help_text="How long the current key keeps working "
        "(default from INGEST_KEY_OVERLAP_HOURS; 0: it stops now).",
    )


class MappingTestSerializer(StrictSerializer):
    payload = serializers.JSONField(help_text="A sample request body, as the sender would post it.")
    mapping = serializers.JSONField(
        required=False, help_text="A mapping to try instead of the integration's own (not saved)."
    )


class MappedEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    status = serializers.CharField()
    dedup_key = serializers.CharField()
    group_key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    severity = serializers.CharField()
    source = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    links = serializers.ListField(child=serializers.DictField())
    occurred_at = serializers.DateTimeField(allow_null=True)


class MappingResultSerializer(serializers.Serializer):
    events = MappedEventSerializer(many=True)
    errors = serializers.ListField(child=serializers.DictField())


class RuleOrderSerializer(StrictSerializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=500,
        help_text="Every rule id of the integration, in evaluation order.",
    )


class RawPayloadSerializer(serializers.ModelSerializer):
    class Meta:
        model = RawPayload
        fields = ["id", "received_at", "content_type", "size", "truncated", "body", "result"]
        read_only_fields = fields


# --- routing rules ------------------------------------------------------------------------------


class RoutingRuleSerializer(StrictModelSerializer):
    integration = OrganizationScopedPrimaryKeyField(queryset=Integration.objects.all())
    route_service = OrganizationScopedPrimaryKeyField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )
    route_team = OrganizationScopedPrimaryKeyField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    matchers = serializers.JSONField(required=False, help_text=MATCHERS_HELP)
    action = serializers.ChoiceField(choices=RoutingAction.choices, required=False)
    set_severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True)
    set_priority = serializers.ChoiceField(choices=Priority.choices, required=False, allow_blank=True)
    add_labels = serializers.DictField(
        child=serializers.CharField(max_length=1024, allow_blank=True), required=False
    )

    class Meta:
        model = RoutingRule
        fields = ["id", "integration", *ROUTING_RULE_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"position": {"required": False}}

    def validate_matchers(self, value):
        problem = validate_matchers(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class RoutingRuleUpdateSerializer(RoutingRuleSerializer):
    class Meta(RoutingRuleSerializer.Meta):
        read_only_fields = [*RoutingRuleSerializer.Meta.read_only_fields, "integration"]
        extra_kwargs = {"position": {"required": False}, "name": {"required": False}}


# --- maintenance windows ------------------------------------------------------------------------


class MaintenanceWindowSerializer(StrictModelSerializer):
    service = OrganizationScopedPrimaryKeyField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )
    matchers = serializers.JSONField(required=False, help_text=MATCHERS_HELP)
    recurrence = serializers.ChoiceField(choices=Recurrence.choices, required=False)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        max_length=7,
        help_text="Weekly windows: 0=Monday … 6=Sunday.",
    )
    time_zone = TimeZoneField(required=False)
    active_now = serializers.SerializerMethodField()
    suppressed_alerts = serializers.IntegerField(
        source="suppressed_count", read_only=True, required=False, help_text="Alerts it suppressed."
    )

    class Meta:
        model = MaintenanceWindow
        fields = ["id", *MAINTENANCE_WINDOW_FIELDS, "active_now", "suppressed_alerts", "created_at"]
        read_only_fields = ["id", "active_now", "suppressed_alerts", "created_at"]

    def validate_matchers(self, value):
        problem = validate_matchers(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def get_active_now(self, window) -> bool:
        return is_active(window, timezone.now())


class MaintenanceWindowUpdateSerializer(MaintenanceWindowSerializer):
    class Meta(MaintenanceWindowSerializer.Meta):
        extra_kwargs = {"name": {"required": False}}


class SuppressedAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "dedup_key",
            "title",
            "status",
            "severity",
            "source",
            "labels",
            "occurrences",
            "first_seen_at",
            "last_seen_at",
            "suppressed_reason",
            "suppressed_window",
            "integration",
        ]
        read_only_fields = fields
