"""Monitors and their check results in the REST API."""

from __future__ import annotations

from rest_framework import serializers

from incidents.models import Service
from monitoring.models import MIN_INTERVAL_SECONDS, CheckResult, Monitor, MonitorKind
from opsplatform.api.serializers import SafeJSONField, StrictModelSerializer, StrictSerializer


class OrganizationServiceField(serializers.PrimaryKeyRelatedField):
    """A service id among the caller organization's services only (another's reads as missing)."""

    def get_queryset(self):
        return Service.objects.for_organization(self.context["organization"])


class MonitorSerializer(StrictModelSerializer):
    kind = serializers.ChoiceField(choices=MonitorKind.choices)
    service = OrganizationServiceField(required=False, allow_null=True)
    interval_seconds = serializers.IntegerField(min_value=MIN_INTERVAL_SECONDS, max_value=86400)
    assertions = SafeJSONField(
        required=False, help_text="Kind-specific checks; see docs/monitoring.md for each kind's keys."
    )
    locations = serializers.ListField(
        source="location_names",
        child=serializers.CharField(max_length=64),
        required=False,
        min_length=1,
        max_length=20,
        help_text='Where it is checked from: "local" (the built-in scheduler) and probe location names.',
    )
    quorum = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=20,
        help_text="How many locations must see it failing before it goes down (default 1).",
    )
    ping_url = serializers.SerializerMethodField(
        help_text="Heartbeat monitors, in the creation answer only: the secret URL jobs ping "
        "(append `start` or `fail`)."
    )

    class Meta:
        model = Monitor
        fields = [
            "id",
            "name",
            "kind",
            "target",
            "service",
            "interval_seconds",
            "timeout_seconds",
            "jitter_seconds",
            "down_interval_seconds",
            "down_after",
            "up_after",
            "failure_ratio",
            "ratio_window",
            "degraded_latency_ms",
            "assertions",
            "locations",
            "quorum",
            "paused",
            "state",
            "flapping",
            "state_changed_at",
            "last_checked_at",
            "last_latency_ms",
            "last_message",
            "next_check_at",
            "last_ping_at",
            "last_run_seconds",
            "created_at",
            "updated_at",
            "ping_url",
        ]
        read_only_fields = [
            "id",
            "paused",
            "state",
            "flapping",
            "state_changed_at",
            "last_checked_at",
            "last_latency_ms",
            "last_message",
            "next_check_at",
            "last_ping_at",
            "last_run_seconds",
            "created_at",
            "updated_at",
        ]

    def get_ping_url(self, monitor) -> str | None:
        key = getattr(monitor, "issued_ping_key", None)
        if not key:
            return None
        request = self.context.get("request")
        path = f"/api/v1/monitors/ping/{key}/"
        return request.build_absolute_uri(path) if request else path


class MonitorUpdateSerializer(MonitorSerializer):
    class Meta(MonitorSerializer.Meta):
        read_only_fields = [*MonitorSerializer.Meta.read_only_fields, "kind"]


class CheckResultSerializer(StrictModelSerializer):
    class Meta:
        model = CheckResult
        fields = ["id", "checked_at", "outcome", "latency_ms", "message", "location"]
        read_only_fields = fields


class NoBodySerializer(StrictSerializer):
    """Pause and resume take no input, and still refuse unknown fields."""
