"""``/api/v1/workflows/``, ``/workflow-runs/``, ``/approvals/``, ``/tasks/``.

Every write is a service call; a transition the run's state does not allow is a 409
(``invalid-transition``), one already applied answers 200 with the run unchanged.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from opsplatform.api.problems import PROBLEM_CONTENT_TYPE
from opsplatform.api.schema import ProblemSerializer
from opsplatform.api.viewsets import TenantCrudViewSet, TenantViewSetMixin
from opsplatform.core.capabilities import Capability
from workflows import selectors
from workflows.api import serializers as s
from workflows.api.errors import ConflictAsTransitionMixin, InvalidTransition, workflow_errors
from workflows.models import ApprovalRequest, Task, TaskStatus, WorkflowDefinition, WorkflowRun
from workflows.services import approvals, definitions, runs, task_items

ID_PATTERN = r"[0-9]+"
CONFLICT = {
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="The run's state does not allow it (`invalid-transition`)."
    )
}
BOOL_VALUES = {"true": True, "1": True, "false": False, "0": False}


def _flag(request, name) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() not in BOOL_VALUES:
        raise ValidationError({name: ["true or false."]})
    return BOOL_VALUES[raw.lower()]


@extend_schema_view(
    list=extend_schema(summary="List workflow definitions", description="With their versions."),
    retrieve=extend_schema(summary="Retrieve a workflow definition"),
    create=extend_schema(
        summary="Create a workflow definition",
        request=s.DefinitionCreateSerializer,
        responses={201: s.DefinitionSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit a workflow definition",
        description="A new `spec` publishes the next version; runs keep the version they started on.",
        request=s.DefinitionUpdateSerializer,
        responses={200: s.DefinitionSerializer},
    ),
)
class WorkflowDefinitionViewSet(
    TenantCrudViewSet
):  # no delete: definitions and tasks are cancelled, not removed
    serializer_class = s.DefinitionSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.WORKFLOW_VIEW,
        "retrieve": Capability.WORKFLOW_VIEW,
        "create": Capability.WORKFLOW_MANAGE,
        "partial_update": Capability.WORKFLOW_MANAGE,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.organization is None:
            return WorkflowDefinition.objects.none()
        return selectors.definitions_for_list(self.organization)

    def get_serializer_class(self):
        if self.action == "create":
            return s.DefinitionCreateSerializer
        if self.action == "partial_update":
            return s.DefinitionUpdateSerializer
        return s.DefinitionSerializer

    def _respond(self, definition, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=definition.pk)
        return Response(
            s.DefinitionSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            definition = definitions.definition_create(actor=self.actor, **serializer.validated_data)
        return self._respond(definition, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        definition = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            definitions.definition_update(
                actor=self.actor, definition=definition, **serializer.validated_data
            )
        return self._respond(definition)


def run_action_schema(summary, description, request=None):
    return extend_schema(
        summary=summary,
        description=f"{description} Answers with the run.",
        request=request,
        responses={200: s.RunSerializer, **CONFLICT},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List workflow runs",
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, description="Only runs in this state."),
            OpenApiParameter("workflow", OpenApiTypes.INT, description="Id of a workflow definition."),
        ],
    ),
    retrieve=extend_schema(summary="Retrieve a workflow run"),
    create=extend_schema(
        summary="Start a workflow run",
        description="In the definition's latest version and its initial state.",
        request=s.RunCreateSerializer,
        responses={201: s.RunSerializer},
    ),
)
class WorkflowRunViewSet(
    ConflictAsTransitionMixin,
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.RunSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "head", "options"]
    capabilities = {
        "list": Capability.WORKFLOW_VIEW,
        "retrieve": Capability.WORKFLOW_VIEW,
        "create": Capability.WORKFLOW_RUN,
        "transition": Capability.WORKFLOW_RUN,
        "approve": Capability.WORKFLOW_RUN,
        "reject": Capability.WORKFLOW_RUN,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.organization is None:
            return WorkflowRun.objects.none()
        queryset = selectors.runs_for_list(self.organization)
        if self.action == "list":
            if (state := self.request.query_params.get("state")) is not None:
                queryset = queryset.filter(state=state[:48])
            if (workflow := self.request.query_params.get("workflow")) is not None:
                if not workflow.isascii() or not workflow.isdigit() or len(workflow) > 18:
                    raise ValidationError({"workflow": ["An id."]})
                queryset = queryset.filter(version__definition_id=int(workflow))
        return queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization, "actor": self.actor}

    def get_serializer_class(self):
        return s.RunCreateSerializer if self.action == "create" else s.RunSerializer

    def _respond(self, run, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=run.pk)
        return Response(s.RunSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with workflow_errors():
            run = runs.run_create(actor=self.actor, definition=data.pop("workflow"), **data)
        return self._respond(run, status.HTTP_201_CREATED)

    @run_action_schema(
        "Send an event",
        "Moves the run along the transition `(state, event)` if the caller passes its guard (capability, "
        "role, required fields; 403 / 400 otherwise). An event already applied changes nothing. "
        "Requires `workflow.run` and the transition's own guard.",
        request=s.TransitionSerializer,
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        run = self.get_object()
        serializer = s.TransitionSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with workflow_errors():
            run = runs.transition(actor=self.actor, run=run, **serializer.validated_data)
        return self._respond(run)

    def _decide(self, verdict):
        run = self.get_object()
        serializer = s.CommentSerializer(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        request = selectors.current_approval(run)
        if request is None or not request.is_pending:
            raise InvalidTransition("The run is not waiting for an approval.")
        with workflow_errors():
            approvals.decide(actor=self.actor, approval=request, verdict=verdict, **serializer.validated_data)
        return self._respond(run)

    @run_action_schema(
        "Approve",
        "Counts the caller's approval on the run's open gate; the requester never counts (403). "
        "Requires `workflow.run` and being one of the gate's approvers.",
        request=s.CommentSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide("approve")

    @run_action_schema(
        "Reject",
        "Rejects the run's open gate: the run ends or goes back, as the gate says. "
        "Requires `workflow.run` and being one of the gate's approvers.",
        request=s.CommentSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide("reject")


@extend_schema_view(
    list=extend_schema(
        summary="List approval requests",
        parameters=[
            OpenApiParameter(
                "mine", OpenApiTypes.BOOL, description="Only those waiting on the caller's decision."
            )
        ],
    ),
    retrieve=extend_schema(summary="Retrieve an approval request"),
)
class ApprovalViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = s.ApprovalSerializer
    lookup_value_regex = ID_PATTERN
    capabilities = {"list": Capability.WORKFLOW_VIEW, "retrieve": Capability.WORKFLOW_VIEW}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.organization is None:
            return ApprovalRequest.objects.none()
        if self.action == "list" and _flag(self.request, "mine"):
            return selectors.waiting_on(self.organization, self.actor.user)
        return selectors.approvals_for_list(self.organization).order_by("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="List tasks",
        parameters=[
            OpenApiParameter("mine", OpenApiTypes.BOOL, description="Only the caller's open tasks."),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=TaskStatus.values, description="Only this status."
            ),
        ],
    ),
    retrieve=extend_schema(summary="Retrieve a task"),
    create=extend_schema(
        summary="Create a task", request=s.TaskWriteSerializer, responses={201: s.TaskSerializer}
    ),
    partial_update=extend_schema(
        summary="Edit a task", request=s.TaskWriteSerializer, responses={200: s.TaskSerializer}
    ),
)
class TaskViewSet(TenantCrudViewSet):  # no delete: definitions and tasks are cancelled, not removed
    serializer_class = s.TaskSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "head", "options"]
    capabilities = {
        "list": Capability.WORKFLOW_VIEW,
        "retrieve": Capability.WORKFLOW_VIEW,
        "create": Capability.TASK_MANAGE,
        "partial_update": Capability.TASK_MANAGE,
        "complete": Capability.TASK_MANAGE,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.organization is None:
            return Task.objects.none()
        queryset = selectors.tasks_for_list(self.organization)
        if self.action == "list":
            if _flag(self.request, "mine"):
                queryset = selectors.my_tasks(self.organization, self.actor.user)
            if (wanted := self.request.query_params.get("status")) is not None:
                if wanted not in TaskStatus.values:
                    raise ValidationError({"status": [f"One of {', '.join(TaskStatus.values)}."]})
                queryset = queryset.filter(status=wanted)
        return queryset.order_by("due_at", "id")

    def get_serializer_class(self):
        return s.TaskWriteSerializer if self.action in ("create", "partial_update") else s.TaskSerializer

    def _respond(self, task, code=status.HTTP_200_OK):
        return Response(s.TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("status", TaskStatus.OPEN) != TaskStatus.OPEN:
            raise ValidationError({"status": ["A new task is open."]})
        with workflow_errors():
            task = task_items.task_create(actor=self.actor, **data)
        return self._respond(task, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        task = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        for link in ("incident", "run"):
            if link in changes:
                raise ValidationError({link: ["A task's link is set when it is created."]})
        with workflow_errors():
            task = task_items.task_update(actor=self.actor, task=task, **changes)
        return self._respond(task)

    @extend_schema(
        summary="Complete a task",
        description="Marks the task done; a done task is unchanged. Requires `task.manage`.",
        request=None,
        responses={200: s.TaskSerializer},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        with workflow_errors():
            task = task_items.task_complete(actor=self.actor, task=task)
        return self._respond(task)
