"""Postmortem API shapes; inputs are strict (unknown fields refused)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsplatform.accounts.models import User
from opsplatform.api.serializers import BoundedDateTimeField, StrictPrimaryKeyRelatedField, StrictSerializer

from .. import selectors
from ..models import SECTION_KEYS, ActionItem, Postmortem, RunbookVerdict, RunbookVerdictKind, TimelineRow
from ..services.verdicts import MAX_VERDICTS, NOTE_LIMIT


class TimelineRowSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id")
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = TimelineRow
        fields = [
            "sequence",
            "entry_hash",
            "incident",
            "verb",
            "kind",
            "actor",
            "actor_type",
            "occurred_at",
            "text",
        ]


class ActionItemSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id")
    title = serializers.CharField(source="task.title")
    assignee = serializers.CharField(source="task.assignee.username", allow_null=True, default=None)
    due_at = serializers.DateTimeField(source="task.due_at", allow_null=True)
    status = serializers.CharField(source="task.status")
    completed_at = serializers.DateTimeField(source="task.completed_at", allow_null=True)

    class Meta:
        model = ActionItem
        fields = ["id", "task", "title", "assignee", "due_at", "status", "completed_at"]


class RunbookVerdictSerializer(serializers.ModelSerializer):
    article = serializers.IntegerField(source="article_id", help_text="The runbook (an article id).")
    title = serializers.CharField(source="article.title")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = RunbookVerdict
        fields = ["article", "title", "verdict", "note", "decided_at", "decided_by"]


class PostmortemListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Postmortem
        fields = ["id", "title", "status", "incident", "revision", "published_at", "created_at", "updated_at"]


class ReviewSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="pk")
    state = serializers.CharField()


class PostmortemSerializer(serializers.ModelSerializer):
    incidents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    review = ReviewSerializer(source="review_run", allow_null=True, read_only=True)
    timeline = TimelineRowSerializer(many=True, read_only=True)
    action_items = ActionItemSerializer(many=True, read_only=True)
    runbook_verdicts = serializers.SerializerMethodField(
        help_text="What the postmortem says of the runbooks of its incidents (those the caller may "
        "read). A `wrong` verdict flags the runbook stale until it is edited or reviewed."
    )

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "title",
            "status",
            "incident",
            "incidents",
            *SECTION_KEYS,
            "revision",
            "published_revision",
            "published_at",
            "facts",
            "synced_at",
            "review",
            "timeline",
            "action_items",
            "runbook_verdicts",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(RunbookVerdictSerializer(many=True))
    def get_runbook_verdicts(self, postmortem):
        actor = self.context.get("actor")
        if actor is None:
            return []
        return RunbookVerdictSerializer(selectors.runbook_verdicts(postmortem, actor), many=True).data


class PostmortemUpdateSerializer(StrictSerializer):
    base_revision = serializers.IntegerField(min_value=1, help_text="The revision your edit started from.")
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    impact = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    root_cause = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    contributing_factors = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    went_well = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    lessons = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    message = serializers.CharField(required=False, allow_blank=True, max_length=200)


@extend_schema_field(OpenApiTypes.INT)
class MemberField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return User.objects.filter(memberships__organization=self.context["organization"])


class ActionItemCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    assignee = MemberField(required=False, allow_null=True)
    due_at = BoundedDateTimeField(required=False, allow_null=True)


class ReviewEventSerializer(StrictSerializer):
    event = serializers.CharField(
        max_length=48, help_text="`publish` or `request_changes` (the run's events)."
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RunbookVerdictInputSerializer(StrictSerializer):
    article = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="A runbook of the organization the caller may read."
    )
    verdict = serializers.ChoiceField(
        choices=RunbookVerdictKind.choices,
        allow_null=True,
        help_text="`helped`, `wrong` (flags the runbook stale) or `not_used`; null removes the verdict.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_LIMIT, default="")


class RunbookVerdictsSerializer(StrictSerializer):
    runbook_verdicts = RunbookVerdictInputSerializer(
        many=True,
        min_length=1,
        max_length=MAX_VERDICTS,
        help_text="The runbooks to judge; runbooks not named keep their verdicts.",
    )
