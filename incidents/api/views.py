"""``/api/v1/incidents/``: list, read, open, edit, and the state changes as POST actions.

The list validates its query string with the page's ``IncidentFilterForm`` and filters with the
page's selector, so the same query means the same rows in both. Every write is a service call;
a transition the incident's state does not allow answers 409, anything already done answers 200
with the incident unchanged.
"""

from django.db.models import Count
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from incidents import services
from incidents.api import serializers as s
from incidents.api.errors import INVALID_TRANSITION_TYPE, InvalidTransition, form_errors, incident_errors
from incidents.api.pagination import KeysetPagination, NotePagination, TimelinePagination
from incidents.api.schema import ACTION_RESPONSES, LIST_PARAMETERS, LIST_RESPONSES, action_schema
from incidents.forms.incidents import IncidentFilterForm
from incidents.models import Incident, IncidentNote
from incidents.selectors import filter_incidents, incident_timeline, incidents_for_list
from opsplatform.api.viewsets import TenantViewSetMixin
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"
# The people services name their argument "users"; the API calls it by the request's field.
PEOPLE_FIELDS = {"assignees": {"users": "assignees"}, "responders": {"users": "responders"}}


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description="Newest first unless `sort` says otherwise; filters as on the incident list page. "
        "Paged by cursor: follow `next`.",
        parameters=LIST_PARAMETERS,
        responses=LIST_RESPONSES,
    ),
    retrieve=extend_schema(summary="Retrieve an incident"),
    create=extend_schema(
        summary="Open an incident",
        description="Opens a triggered incident: SLA clocks start and escalation begins.",
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit an incident",
        description="Title, description, labels, severity, priority, service and team of an open incident.",
        request=s.IncidentUpdateSerializer,
        responses=ACTION_RESPONSES,
    ),
)
class IncidentViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Incident.objects.all()
    serializer_class = s.IncidentDetailSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends = []  # the filter form below is the one way to filter and sort
    pagination_class = KeysetPagination
    service_field_map = PEOPLE_FIELDS["assignees"]
    capabilities = {
        "list": Capability.INCIDENT_VIEW,
        "retrieve": Capability.INCIDENT_VIEW,
        "timeline": Capability.INCIDENT_VIEW,
        "notes": Capability.INCIDENT_VIEW,
        "create": Capability.INCIDENT_CREATE,
        "acknowledge": Capability.INCIDENT_ACKNOWLEDGE,
        "snooze": Capability.INCIDENT_ACKNOWLEDGE,
        "add_note": Capability.INCIDENT_ACKNOWLEDGE,
        "resolve": Capability.INCIDENT_RESOLVE,
        "reopen": Capability.INCIDENT_RESOLVE,
        "partial_update": Capability.INCIDENT_MANAGE,
        "escalate": Capability.INCIDENT_MANAGE,
        "reassign": Capability.INCIDENT_MANAGE,
        "responders": Capability.INCIDENT_MANAGE,
        "merge": Capability.INCIDENT_MANAGE,
    }

    def get_queryset(self):
        organization = self.organization
        if getattr(self, "swagger_fake_view", False) or organization is None:
            return Incident.objects.none()
        queryset = incidents_for_list(organization).select_related("resolved_by")
        if self.action != "list":
            queryset = queryset.prefetch_related("responders").annotate(alert_count=Count("alerts"))
        return queryset

    def get_serializer_class(self):
        return s.IncidentSerializer if self.action == "list" else s.IncidentDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, InvalidTransition) and isinstance(response.data, dict):
            response.data["type"] = INVALID_TRANSITION_TYPE
            response.data["title"] = "Invalid transition"
        return response

    def _respond(self, incident, status_code=status.HTTP_200_OK) -> Response:
        # Re-read: the service returns the bare locked row, the answer shows people and counts.
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    def _act(self, serializer_class, call, field_map=None) -> Response:
        incident = self.get_object()
        context = {**self.get_serializer_context(), "target": incident}
        serializer = serializer_class(data=self.request.data, context=context)
        serializer.is_valid(raise_exception=True)
        with incident_errors(field_map):
            call(incident, **serializer.validated_data)
        return self._respond(incident)

    # --- list, read, open, edit -----------------------------------------------------------------
    def list(self, request, *args, **kwargs):
        form = IncidentFilterForm(request.query_params, organization=self.organization)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        queryset = filter_incidents(self.get_queryset(), **form.filters())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        serializer = s.IncidentCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return self._respond(serializer.instance, status.HTTP_201_CREATED)

    def service_create(self, *, actor, data):
        return services.incident_create(actor=actor, **data)

    def partial_update(self, request, *args, **kwargs):
        return self._act(
            s.IncidentUpdateSerializer,
            lambda incident, **changes: services.incident_update(
                actor=self.actor, incident=incident, **changes
            ),
        )

    # --- state changes --------------------------------------------------------------------------
    @action_schema(
        "Acknowledge", Capability.INCIDENT_ACKNOWLEDGE, "Stops escalation. Already acknowledged: unchanged."
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(
            s.NoBodySerializer,
            lambda incident: services.incident_acknowledge(actor=self.actor, incident=incident),
        )

    @action_schema(
        "Resolve",
        Capability.INCIDENT_RESOLVE,
        "With an optional resolution note. Already resolved: unchanged.",
        request=s.ResolveSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._act(
            s.ResolveSerializer,
            lambda incident, note: services.incident_resolve(actor=self.actor, incident=incident, note=note),
        )

    @action_schema(
        "Snooze",
        Capability.INCIDENT_ACKNOWLEDGE,
        "Until a time (`until`) or for a number of minutes (`minutes`), at most 7 days; it triggers again "
        "when the snooze runs out.",
        request=s.SnoozeSerializer,
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        return self._act(
            s.SnoozeSerializer,
            lambda incident, until: services.incident_snooze(
                actor=self.actor, incident=incident, until=until
            ),
        )

    @action_schema(
        "Reopen",
        Capability.INCIDENT_RESOLVE,
        "A resolved incident triggers again (within the reopen window; not a merged one). Open: unchanged.",
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._act(
            s.NoBodySerializer, lambda incident: services.incident_reopen(actor=self.actor, incident=incident)
        )

    @action_schema(
        "Escalate now",
        Capability.INCIDENT_MANAGE,
        "Back to triggered; the next escalation step runs at once.",
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        return self._act(
            s.NoBodySerializer,
            lambda incident: services.incident_escalate(actor=self.actor, incident=incident),
        )

    # --- people and merging ---------------------------------------------------------------------
    @action_schema(
        "Reassign",
        Capability.INCIDENT_MANAGE,
        "Replaces the assignees with the given members.",
        request=s.ReassignSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        return self._act(
            s.ReassignSerializer,
            lambda incident, assignees: services.incident_reassign(
                actor=self.actor, incident=incident, assignees=assignees
            ),
            PEOPLE_FIELDS["assignees"],
        )

    @action_schema(
        "Add responders",
        Capability.INCIDENT_MANAGE,
        "Adds members as responders.",
        request=s.RespondersSerializer,
    )
    @action(detail=True, methods=["post"])
    def responders(self, request, pk=None):
        return self._act(
            s.RespondersSerializer,
            lambda incident, responders: services.incident_add_responders(
                actor=self.actor, incident=incident, responders=responders
            ),
            PEOPLE_FIELDS["responders"],
        )

    @action_schema(
        "Merge another incident into this one",
        Capability.INCIDENT_MANAGE,
        "The source's alerts move here, its timeline shows in this one's, and it resolves as merged.",
        request=s.MergeSerializer,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        return self._act(
            s.MergeSerializer,
            lambda incident, source: services.incident_merge(
                actor=self.actor, target=incident, source=source
            ),
        )

    # --- notes and timeline ---------------------------------------------------------------------
    @extend_schema(
        summary="List an incident's notes",
        description="Oldest first.",
        responses=s.NoteSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=NotePagination)
    def notes(self, request, pk=None):
        incident = self.get_object()
        notes = IncidentNote.objects.for_organization(self.organization).filter(incident=incident)
        page = self.paginate_queryset(notes.select_related("author"))
        return self.get_paginated_response(s.NoteSerializer(page, many=True).data)

    @extend_schema(
        summary="Add a note",
        description="Also on resolved incidents (postmortem findings).",
        request=s.NoteCreateSerializer,
        responses={201: s.NoteSerializer},
    )
    @notes.mapping.post
    def add_note(self, request, pk=None):
        incident = self.get_object()
        serializer = s.NoteCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with incident_errors():
            note = services.incident_add_note(
                actor=self.actor, incident=incident, **serializer.validated_data
            )
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="An incident's timeline",
        description="Its ledger entries, and those of incidents merged into it, oldest first.",
        responses=s.TimelineEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=TimelinePagination)
    def timeline(self, request, pk=None):
        page = self.paginate_queryset(incident_timeline(self.get_object()))
        return self.get_paginated_response(s.TimelineEntrySerializer(page, many=True).data)
