"""Automation rule API shapes. Inputs are strict; the services validate conditions and actions."""

from rest_framework import serializers

from opsplatform.api.serializers import SafeJSONField, StrictSerializer
from workflows.automation.models import AutomationExecution, AutomationRule, ExecutionState, Trigger
from workflows.automation.services import MAX_BACKTEST_DAYS


class RuleSerializer(serializers.ModelSerializer):
    signed = serializers.SerializerMethodField()
    last_execution = serializers.SerializerMethodField()

    class Meta:
        model = AutomationRule
        fields = [
            "id",
            "name",
            "description",
            "enabled",
            "trigger",
            "trigger_state",
            "trigger_workflow",
            "conditions",
            "once_per_incident",
            "actions",
            "signed",
            "created_by",
            "created_at",
            "updated_at",
            "last_execution",
        ]
        read_only_fields = fields

    def get_signed(self, rule) -> bool:
        return bool(rule.webhook_secret)

    def get_last_execution(self, rule) -> dict | None:
        last = getattr(rule, "last_executions", None)
        if last is None:
            last = list(rule.executions.order_by("-created_at", "-id")[:1])
        return ExecutionSerializer(last[0]).data if last else None


class RuleIssuedSerializer(RuleSerializer):
    webhook_secret = serializers.SerializerMethodField()

    class Meta(RuleSerializer.Meta):
        fields = [*RuleSerializer.Meta.fields, "webhook_secret"]
        read_only_fields = fields

    def get_webhook_secret(self, rule) -> str:
        """The HMAC signing secret of the rule's webhook calls: shown in this answer only."""
        return self.context.get("secret", "")


class RuleWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    trigger_state = serializers.CharField(max_length=48, required=False, allow_blank=True)
    trigger_workflow = serializers.CharField(max_length=64, required=False, allow_blank=True)
    conditions = SafeJSONField(
        required=False, help_text='{"match": "all"|"any", "groups": [{"match", "matchers": [...]}]}'
    )
    once_per_incident = serializers.BooleanField(required=False)
    actions = SafeJSONField(help_text='[{"type": "webhook", "url": …, "retries": 3, "risky": false}, …]')
    webhook_secret = serializers.CharField(
        min_length=16, max_length=200, required=False, write_only=True, help_text="Set or rotate it."
    )


class BacktestSerializer(StrictSerializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_BACKTEST_DAYS)


class BacktestSampleSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    verb = serializers.CharField()
    at = serializers.DateTimeField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    incident = serializers.IntegerField(allow_null=True)
    incident_title = serializers.CharField()
    severity = serializers.CharField(allow_null=True)


class BacktestDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class BacktestResultSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateTimeField()
    events_scanned = serializers.IntegerField()
    fired = serializers.IntegerField()
    would_run = serializers.IntegerField()
    per_day = BacktestDaySerializer(many=True)
    actions = serializers.ListField(child=serializers.CharField())
    samples = BacktestSampleSerializer(many=True)
    truncated = serializers.BooleanField()


class ExecutionSerializer(serializers.ModelSerializer):
    action_type = serializers.CharField(read_only=True)
    state = serializers.ChoiceField(choices=ExecutionState.choices, read_only=True)

    class Meta:
        model = AutomationExecution
        fields = [
            "id",
            "rule",
            "action_index",
            "action_type",
            "action",
            "state",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_error",
            "outcome",
            "entry_id",
            "entry_sequence",
            "event_verb",
            "event_at",
            "target_type",
            "target_id",
            "incident",
            "approval_run",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
