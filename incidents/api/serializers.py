"""Shapes of services, incidents, notes and timeline entries in the REST API.

Ids that point at other objects (a service's team, an incident's service, assignees, a merge source)
are resolved inside the caller's organization only: another tenant's id reads exactly like an id that
does not exist.
"""

from datetime import timedelta

from django.core.validators import URLValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import LedgerEntry
from incidents.api import detail_fields
from incidents.models import Incident, IncidentNote, Priority, Service, Severity, SLAState
from incidents.services.edits import MAX_NOTE
from incidents.services.lifecycle import MAX_SNOOZE
from incidents.sla.policy import next_due, sla_state
from incidents.state import allowed_actions
from opsplatform.accounts.models import Team, User
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer

MAX_LABEL_VALUE = 500
MAX_PEOPLE = 100
MAX_DESCRIPTION = 50_000
MAX_RESOLUTION_NOTE = 10_000
MAX_SNOOZE_MINUTES = int(MAX_SNOOZE.total_seconds() // 60)


def _organization(serializer):
    return serializer.context["organization"]


class OrganizationScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up among the caller organization's rows only."""

    def get_queryset(self):
        return super().get_queryset().for_organization(self.context["organization"])


def members_by_id(organization, ids: list[int]) -> list:
    """The users with ``ids`` who are members of ``organization``, or a field error naming the others."""
    wanted = list(dict.fromkeys(ids))
    users = list(User.objects.filter(pk__in=wanted, memberships__organization=organization))
    missing = sorted(set(wanted) - {user.pk for user in users})
    if missing:
        listed = ", ".join(str(pk) for pk in missing)
        raise serializers.ValidationError(f"Not members of this organization: {listed}.", code="not_member")
    return users


def labels_field(**kwargs):
    return serializers.DictField(
        child=serializers.CharField(max_length=MAX_LABEL_VALUE, allow_blank=True),
        help_text='String labels, e.g. `{"region": "eu-west-1"}`.',
        **kwargs,
    )


def people_field(help_text: str, **kwargs):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=MAX_PEOPLE, help_text=help_text, **kwargs
    )


class UserRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


# --- services ----------------------------------------------------------------------------------


class RunbookLinkSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=2000, validators=[URLValidator(schemes=["http", "https"])])

    def validate(self, attrs):
        return {"title": attrs.get("title") or attrs["url"], "url": attrs["url"]}


class ServiceSerializer(StrictModelSerializer):
    owner_team = OrganizationScopedPrimaryKeyField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the owning team (a team of this organization).",
    )
    # A ListField rather than many=True: a non-list answers under ``runbook_links`` itself.
    runbook_links = serializers.ListField(child=RunbookLinkSerializer(), required=False, max_length=50)
    labels = labels_field(required=False)
    open_incidents = serializers.IntegerField(
        read_only=True, help_text="Incidents of the service not resolved."
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "tier",
            "owner_team",
            "runbook_links",
            "labels",
            "default_severity",
            "in_maintenance",
            "open_incidents",
            "created_at",
        ]
        read_only_fields = ["id", "slug", "open_incidents", "created_at"]

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("A service needs a name.")
        return value.strip()

    def validate_runbook_links(self, value):
        return [dict(link) for link in value]

    def validate_labels(self, value):
        return dict(value)


# --- incidents: reads --------------------------------------------------------------------------


class NextDeadlineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["acknowledge", "resolve"], help_text="What is due.")
    due_at = serializers.DateTimeField()


class IncidentSerializer(serializers.ModelSerializer):
    """One row of the list."""

    service_name = serializers.CharField(source="service.name", read_only=True, allow_null=True, default=None)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)
    assignees = UserRefSerializer(many=True, read_only=True)
    acknowledged_by = UserRefSerializer(read_only=True, allow_null=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)
    sla_state = serializers.SerializerMethodField()
    next_deadline = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "status",
            "severity",
            "priority",
            "service",
            "service_name",
            "team",
            "team_name",
            "assignees",
            "labels",
            "source",
            "created_at",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "snoozed_until",
            "merged_into",
            "sla_state",
            "next_deadline",
        ]
        read_only_fields = fields

    def _now(self):
        # One instant for the whole response, so every row is judged against the same clock.
        if "now" not in self.context:
            self.context["now"] = timezone.now()
        return self.context["now"]

    @extend_schema_field(serializers.ChoiceField(choices=SLAState.choices))
    def get_sla_state(self, incident) -> str:
        return sla_state(incident, self._now())

    @extend_schema_field(NextDeadlineSerializer(allow_null=True))
    def get_next_deadline(self, incident):
        due = next_due(incident)
        return (
            None
            if due is None
            else {"kind": due[0], "due_at": serializers.DateTimeField().to_representation(due[1])}
        )


class RunbookRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The runbook's page.")
    score = serializers.IntegerField(help_text="Selectors matched: labels, plus service, plus severity.")
    revision = serializers.IntegerField(allow_null=True)


class WorkflowRunRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    workflow = serializers.CharField(help_text="The definition's key.")
    state = serializers.CharField()
    url = serializers.CharField(help_text="The run's page.")


class TaskRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    assignee = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    run = serializers.IntegerField(allow_null=True, help_text="The workflow run the task belongs to.")


class IncidentDetailSerializer(IncidentSerializer):
    responders = UserRefSerializer(many=True, read_only=True)
    alert_count = serializers.IntegerField(read_only=True, help_text="Alerts attached to the incident.")
    allowed_actions = serializers.SerializerMethodField(
        help_text="State changes the incident's status allows (capabilities aside)."
    )
    runbooks = serializers.SerializerMethodField(
        help_text="Runbooks whose selectors match the incident, best match first (those the caller may read)."
    )
    workflow_runs = serializers.SerializerMethodField(help_text="Workflow runs linked to the incident.")
    tasks = serializers.SerializerMethodField(
        help_text="Tasks of the incident and of its workflow runs, open ones first."
    )

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "description",
            "responders",
            "dedup_key",
            "resolution_note",
            "snoozed_at",
            "ack_due_at",
            "resolve_due_at",
            "escalation_step",
            "next_escalation_at",
            "alert_count",
            "allowed_actions",
            "runbooks",
            "workflow_runs",
            "tasks",
        ]
        read_only_fields = fields

    @extend_schema_field(RunbookRefSerializer(many=True))
    def get_runbooks(self, incident) -> list:
        return detail_fields.contribute("runbooks", incident, self.context.get("request"))

    @extend_schema_field(WorkflowRunRefSerializer(many=True))
    def get_workflow_runs(self, incident) -> list:
        return detail_fields.contribute("workflow_runs", incident, self.context.get("request"))

    @extend_schema_field(TaskRefSerializer(many=True))
    def get_tasks(self, incident) -> list:
        return detail_fields.contribute("tasks", incident, self.context.get("request"))

    def get_allowed_actions(self, incident) -> list[str]:
        return sorted(allowed_actions(incident.status))


class NoteSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = IncidentNote
        fields = ["id", "body", "author", "created_at"]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(
        source="target_id",
        read_only=True,
        help_text="The incident the entry is about (a merged one, or this).",
    )
    data = serializers.JSONField(read_only=True, help_text="Event details; the shape depends on the verb.")

    class Meta:
        model = LedgerEntry
        fields = ["id", "sequence", "created_at", "verb", "incident", "actor_type", "actor_label", "data"]
        read_only_fields = fields


# --- incidents: writes -------------------------------------------------------------------------


class IncidentWriteFields(StrictSerializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION, allow_blank=True, trim_whitespace=False, required=False
    )
    service = OrganizationScopedPrimaryKeyField(
        queryset=Service.objects.all(), allow_null=True, required=False, help_text="Id of a service."
    )
    team = OrganizationScopedPrimaryKeyField(
        queryset=Team.objects.all(), allow_null=True, required=False, help_text="Id of a team."
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    labels = labels_field(required=False)

    def validate_labels(self, value):
        return dict(value)


class IncidentCreateSerializer(IncidentWriteFields):
    severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, help_text="Default: the service's default severity."
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.P3)
    assignees = people_field("User ids to assign (members of the organization).", required=False)

    def validate_assignees(self, value):
        return members_by_id(_organization(self), value)


class IncidentUpdateSerializer(IncidentWriteFields):
    title = serializers.CharField(max_length=255, required=False)


class ResolveSerializer(StrictSerializer):
    note = serializers.CharField(
        max_length=MAX_RESOLUTION_NOTE,
        required=False,
        allow_blank=True,
        default="",
        help_text="Resolution note.",
    )


class SnoozeSerializer(StrictSerializer):
    until = serializers.DateTimeField(
        required=False, help_text="ISO 8601 time to snooze until (at most 7 days)."
    )
    minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SNOOZE_MINUTES, help_text="Or: minutes from now."
    )

    def validate_until(self, value):
        if value <= timezone.now():
            raise serializers.ValidationError("Snooze until a time in the future.", code="past")
        return value

    def validate(self, attrs):
        if "until" in attrs and "minutes" in attrs:
            raise serializers.ValidationError({"minutes": ["Give either until or minutes, not both."]})
        if "until" not in attrs and "minutes" not in attrs:
            raise serializers.ValidationError(
                {"until": [serializers.ErrorDetail("Give until (ISO 8601) or minutes.", code="required")]}
            )
        if "minutes" in attrs:
            return {"until": timezone.now() + timedelta(minutes=attrs["minutes"])}
        return attrs


class ReassignSerializer(StrictSerializer):
    assignees = people_field("User ids of the new assignees (replaces the current ones; `[]` unassigns).")

    def validate_assignees(self, value):
        return members_by_id(_organization(self), value)


class RespondersSerializer(StrictSerializer):
    responders = people_field("User ids to add as responders.", allow_empty=False)

    def validate_responders(self, value):
        return members_by_id(_organization(self), value)


class MergeSerializer(StrictSerializer):
    source = serializers.IntegerField(
        min_value=1, help_text="Id of the incident to merge into this one; it resolves as merged."
    )

    def validate_source(self, value):
        if value == self.context["target"].pk:
            raise serializers.ValidationError("An incident cannot be merged into itself.", code="self_merge")
        source = Incident.objects.for_organization(_organization(self)).filter(pk=value).first()
        if source is None:
            raise serializers.ValidationError("No such incident in this organization.", code="does_not_exist")
        return source


class NoteCreateSerializer(StrictSerializer):
    body = serializers.CharField(max_length=MAX_NOTE)


class NoBodySerializer(StrictSerializer):
    """Actions that take no input still refuse unknown fields."""
