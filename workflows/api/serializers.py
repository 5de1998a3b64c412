"""Workflow API shapes. Input serializers are strict (unknown fields refused); writes go through
the services, which check the rest."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import Incident, Service
from opsplatform.accounts.models import Team, User
from opsplatform.api.serializers import (
    BoundedDateTimeField,
    OrganizationScopedPrimaryKeyField,
    SafeJSONField,
    StrictPrimaryKeyRelatedField,
    StrictSerializer,
)
from workflows import guards
from workflows.models import (
    ApprovalRequest,
    Task,
    TaskStatus,
    WorkflowDefinition,
    WorkflowRun,
    WorkflowVersion,
)
from workflows.selectors import current_approval


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.display_name or user.get_full_name() or user.username


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowVersion
        fields = ["number", "published_at", "spec"]


class DefinitionSerializer(serializers.ModelSerializer):
    versions = VersionSerializer(many=True, read_only=True)
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowDefinition
        fields = [
            "id",
            "key",
            "name",
            "description",
            "team",
            "builtin",
            "created_at",
            "current_version",
            "versions",
        ]

    def get_current_version(self, definition) -> int | None:
        numbers = [v.number for v in definition.versions.all()]
        return max(numbers) if numbers else None


class DefinitionCreateSerializer(StrictSerializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    team = OrganizationScopedPrimaryKeyField(queryset=Team.objects.all(), required=False, allow_null=True)
    spec = SafeJSONField(help_text="The state machine; see docs/workflows.md.")


class DefinitionUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    team = OrganizationScopedPrimaryKeyField(queryset=Team.objects.all(), required=False, allow_null=True)
    spec = SafeJSONField(required=False, help_text="A new spec publishes the next version.")


class DecisionSerializer(serializers.Serializer):
    approver = PersonSerializer()
    verdict = serializers.CharField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ApprovalSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")
    requester = PersonSerializer()
    approvers = serializers.ListField(source="approver_ids", child=serializers.IntegerField())
    decisions = DecisionSerializer(many=True)
    run_title = serializers.CharField(source="run.title")

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "run",
            "run_title",
            "state",
            "event",
            "status",
            "rule",
            "required",
            "received",
            "requester",
            "approvers",
            "decisions",
            "created_at",
            "decided_at",
            "remind_at",
            "escalate_at",
        ]


class EventSerializer(serializers.Serializer):
    event = serializers.CharField()
    label = serializers.CharField()
    to = serializers.CharField()
    required_fields = serializers.ListField(child=serializers.CharField())


class RunSerializer(serializers.ModelSerializer):
    workflow = serializers.IntegerField(source="version.definition_id")
    workflow_key = serializers.CharField(source="version.definition.key")
    version = serializers.IntegerField(source="version.number")
    owner = PersonSerializer(allow_null=True)
    terminal = serializers.SerializerMethodField()
    available_events = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "workflow",
            "workflow_key",
            "version",
            "title",
            "state",
            "terminal",
            "owner",
            "team",
            "incident",
            "service",
            "fields",
            "available_events",
            "approvals",
            "created_at",
            "updated_at",
        ]

    def get_terminal(self, run) -> bool:
        return run.spec.is_terminal(run.state)

    @extend_schema_field(EventSerializer(many=True))
    def get_available_events(self, run) -> list[dict]:
        actor = self.context.get("actor")
        if actor is None:
            return []
        return EventSerializer(
            [
                {
                    "event": t.event,
                    "label": t.label,
                    "to": t.target,
                    "required_fields": list(t.required_fields),
                }
                for t in guards.available(actor, run)
            ],
            many=True,
        ).data

    @extend_schema_field(ApprovalSerializer(allow_null=True))
    def get_approvals(self, run) -> dict | None:
        request = current_approval(run)
        return ApprovalSerializer(request).data if request is not None else None


class RunCreateSerializer(StrictSerializer):
    workflow = OrganizationScopedPrimaryKeyField(queryset=WorkflowDefinition.objects.all())
    title = serializers.CharField(max_length=200)
    fields = SafeJSONField(required=False, help_text='Field values, e.g. {"plan": "…"}.')
    team = OrganizationScopedPrimaryKeyField(queryset=Team.objects.all(), required=False, allow_null=True)
    incident = OrganizationScopedPrimaryKeyField(
        queryset=Incident.objects.all(), required=False, allow_null=True
    )
    service = OrganizationScopedPrimaryKeyField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )


class TransitionSerializer(StrictSerializer):
    event = serializers.CharField(max_length=48)
    fields = SafeJSONField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class CommentSerializer(StrictSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class MemberField(StrictPrimaryKeyRelatedField):
    """A person of the caller's organization."""

    def get_queryset(self):
        return User.objects.filter(memberships__organization=self.context["organization"])


class TaskSerializer(serializers.ModelSerializer):
    assignee = PersonSerializer(allow_null=True)
    overdue = serializers.BooleanField(source="is_overdue")

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "assignee",
            "due_at",
            "checklist",
            "status",
            "overdue",
            "overdue_at",
            "incident",
            "run",
            "created_at",
            "updated_at",
            "completed_at",
        ]


class TaskWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    assignee = MemberField(required=False, allow_null=True)
    due_at = BoundedDateTimeField(required=False, allow_null=True)
    checklist = SafeJSONField(required=False, help_text='[{"text": …, "done": false}, …]')
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    incident = OrganizationScopedPrimaryKeyField(
        queryset=Incident.objects.all(), required=False, allow_null=True
    )
    run = OrganizationScopedPrimaryKeyField(
        queryset=WorkflowRun.objects.all(), required=False, allow_null=True
    )
