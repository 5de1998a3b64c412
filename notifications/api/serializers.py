"""On-call and notifications in the REST API: the shapes of schedules, escalation policies, channels
and notifications.

Ids that point at other objects are resolved inside the caller's organization only: another
tenant's id reads exactly like an id that does not exist. Channel secrets are write-only.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import Service
from notifications.models import (
    Channel,
    ChannelKind,
    EscalationPolicy,
    Notification,
    NotificationAttempt,
    RotationKind,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    TargetKind,
)
from notifications.services.policies import MAX_DELAY_MINUTES, MAX_REPEAT, MAX_STEPS, MAX_TARGETS
from opsplatform.accounts.models import Team, User
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up among the caller organization's rows only."""

    def get_queryset(self):
        return super().get_queryset().filter(organization=self.context["organization"])


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user id, looked up among the organization's members only."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        return super().get_queryset().filter(memberships__organization=self.context["organization"])


class OnCallUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "display_name"]
        read_only_fields = fields


# --- schedules ----------------------------------------------------------------------------------


class RestrictionSerializer(StrictSerializer):
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        min_length=1,
        max_length=7,
        help_text="Weekdays, 0 = Monday … 6 = Sunday.",
    )
    start = serializers.RegexField(r"^\d{2}:\d{2}$", help_text="Local time, HH:MM.")
    end = serializers.RegexField(
        r"^\d{2}:\d{2}$", help_text="Local time, HH:MM; at or before `start` runs past midnight."
    )


class LayerSerializer(StrictModelSerializer):
    participants = MemberField(many=True, help_text="User ids in rotation order.")
    restrictions = RestrictionSerializer(many=True, required=False, default=list)
    rotation = serializers.ChoiceField(choices=RotationKind.choices)

    class Meta:
        model = ScheduleLayer
        fields = [
            "id",
            "name",
            "priority",
            "rotation",
            "shift_hours",
            "start_date",
            "handoff_time",
            "participants",
            "restrictions",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {
            "priority": {"required": False, "help_text": "Higher wins; default: above the other layers."},
            "shift_hours": {"required": False, "allow_null": True},
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["participants"] = [p.user_id for p in instance.participants.all()]
        return data


class ScheduleSerializer(StrictModelSerializer):
    team = ScopedPrimaryKeyField(queryset=Team.objects.all())
    time_zone = serializers.CharField(source="team.time_zone", read_only=True)
    layers = LayerSerializer(many=True, required=False, help_text="Replaces every layer when given.")

    class Meta:
        model = Schedule
        fields = ["id", "name", "description", "team", "time_zone", "layers", "created_at"]
        read_only_fields = ["id", "time_zone", "created_at"]
        extra_kwargs = {"name": {"required": True}}


class SegmentSerializer(serializers.Serializer):
    user = OnCallUserSerializer(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    source = serializers.CharField(help_text="`layer:<id>`, `override` or `swap`.")


class OnCallSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    current = SegmentSerializer(allow_null=True, help_text="Null when nobody is on call at `at`.")
    next = SegmentSerializer(allow_null=True, help_text="The next different person on call (60 days ahead).")
    gaps = SegmentSerializer(
        many=True, help_text="Times within `window_hours` after `at` with nobody on call."
    )


class OverrideSerializer(StrictModelSerializer):
    user = MemberField()
    replaces = MemberField(required=False, allow_null=True)

    class Meta:
        model = ScheduleOverride
        fields = ["id", "user", "replaces", "starts_at", "ends_at", "note", "status", "created_at"]
        # "proposed" until the person it puts on call accepts it (see services.overrides).
        read_only_fields = ["id", "status", "created_at"]


# --- escalation policies ------------------------------------------------------------------------


class TargetSerializer(StrictSerializer):
    type = serializers.ChoiceField(source="kind", choices=TargetKind.choices)
    id = serializers.IntegerField(
        source="target_id", min_value=1, help_text="Id of the user, schedule, team or channel."
    )


class StepSerializer(StrictSerializer):
    delay_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DELAY_MINUTES)
    round_robin = serializers.BooleanField(default=False)
    targets = TargetSerializer(many=True, min_length=1, max_length=MAX_TARGETS)


TARGET_MODELS = {
    TargetKind.USER: User,
    TargetKind.SCHEDULE: Schedule,
    TargetKind.TEAM: Team,
    TargetKind.CHANNEL: Channel,
}


class EscalationPolicySerializer(StrictModelSerializer):
    team = ScopedPrimaryKeyField(queryset=Team.objects.all(), required=False, allow_null=True)
    repeat_count = serializers.IntegerField(min_value=0, max_value=MAX_REPEAT, default=0)
    steps = StepSerializer(many=True, required=False, max_length=MAX_STEPS)
    services = ScopedPrimaryKeyField(
        queryset=Service.objects.all(), many=True, required=False, help_text="Services that use this policy."
    )
    default_for_teams = ScopedPrimaryKeyField(
        queryset=Team.objects.all(),
        many=True,
        required=False,
        help_text="Teams whose incidents use it when their service has no policy.",
    )

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "name",
            "description",
            "team",
            "repeat_count",
            "steps",
            "services",
            "default_for_teams",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"required": True}}

    def validate_steps(self, steps):
        """Resolve each target id inside the organization (unknown and foreign ids read alike)."""
        org = self.context["organization"]
        resolved = []
        for index, step in enumerate(steps):
            targets = []
            for target in step["targets"]:
                kind, pk = target["kind"], target["target_id"]
                model = TARGET_MODELS[kind]
                if model is User:
                    obj = User.objects.filter(pk=pk, memberships__organization=org).first()
                else:
                    obj = model.objects.filter(pk=pk, organization=org).first()
                if obj is None:
                    raise serializers.ValidationError({index: {"targets": [f"No {kind} with id {pk}."]}})
                targets.append((kind, obj))
            resolved.append({**step, "targets": targets})
        return resolved


# --- channels -----------------------------------------------------------------------------------


class ChannelSerializer(StrictModelSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    url = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Slack, Teams and webhook channels. Write-only: stored encrypted, never returned.",
    )
    recipients = serializers.ListField(
        child=serializers.CharField(max_length=320),
        required=False,
        max_length=50,
        help_text="E-mail addresses (e-mail channels) or E.164 numbers (Twilio channels).",
    )
    account_sid = serializers.CharField(required=False, allow_blank=True, max_length=64)
    auth_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, help_text="Twilio. Write-only."
    )
    from_number = serializers.CharField(required=False, allow_blank=True, max_length=32)

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "is_active",
            "url",
            "recipients",
            "account_sid",
            "auth_token",
            "from_number",
            "secret_hint",
            "last_success_at",
            "last_failure_at",
            "last_error",
            "consecutive_failures",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "secret_hint",
            "last_success_at",
            "last_failure_at",
            "last_error",
            "consecutive_failures",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"is_active": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["recipients"] = instance.config.get("recipients", [])
        data["account_sid"] = instance.config.get("account_sid", "")
        data["from_number"] = instance.config.get("from_number", "")
        return data


class ChannelUpdateSerializer(ChannelSerializer):
    """PATCH: a channel's kind is fixed once made (its stored secrets belong to that kind), so
    sending it is refused as read-only."""

    kind = serializers.ChoiceField(choices=ChannelKind.choices, read_only=True)


class IssuedChannelSerializer(ChannelSerializer):
    signing_secret = serializers.SerializerMethodField(
        help_text="Webhook channels: the HMAC signing secret. Returned only in this response."
    )

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "signing_secret"]
        read_only_fields = [*ChannelSerializer.Meta.read_only_fields, "signing_secret"]

    def get_signing_secret(self, channel) -> str:
        return self.context.get("signing_secret", "")


# --- notifications ------------------------------------------------------------------------------


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationAttempt
        fields = ["number", "started_at", "duration_ms", "outcome", "status_code", "error"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    recipient = OnCallUserSerializer(read_only=True, allow_null=True)
    attempt_log = AttemptSerializer(many=True, read_only=True, source="attempt_entries")
    step = serializers.SerializerMethodField()
    cycle = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "incident",
            "status",
            "medium",
            "destination",
            "recipient",
            "channel",
            "step",
            "cycle",
            "conditional",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "resend_count",
            "delivery_id",
            "created_at",
            "sent_at",
            "attempt_log",
        ]
        read_only_fields = fields
        extra_kwargs = {}

    delivery_id = serializers.CharField(
        source="idempotency_key", read_only=True, help_text="Sent to receivers as `X-OpsPlatform-Delivery`."
    )

    @extend_schema_field(serializers.IntegerField(help_text="Escalation step, from 1."))
    def get_step(self, obj) -> int:
        return obj.step + 1

    @extend_schema_field(serializers.IntegerField(help_text="Round of the policy, from 1."))
    def get_cycle(self, obj) -> int:
        return obj.cycle + 1
