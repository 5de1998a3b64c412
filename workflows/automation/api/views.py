"""``/api/v1/automation-rules/``: CRUD, ``POST …/{id}/backtest/`` and ``GET …/{id}/executions/``."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from opsplatform.api.viewsets import IssuesSecretMixin, TenantViewSetMixin, service_errors
from opsplatform.core.capabilities import Capability
from workflows.automation import services
from workflows.automation.api import serializers as s
from workflows.automation.models import AutomationExecution, AutomationRule


@extend_schema_view(
    list=extend_schema(summary="List automation rules", description="With each rule's last execution."),
    retrieve=extend_schema(summary="Retrieve an automation rule"),
    create=extend_schema(
        summary="Create an automation rule",
        description="Answers with the rule and its webhook signing secret, shown this once.",
        request=s.RuleWriteSerializer,
        responses={201: s.RuleIssuedSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit an automation rule", request=s.RuleWriteSerializer, responses={200: s.RuleSerializer}
    ),
    destroy=extend_schema(summary="Delete an automation rule"),
)
class AutomationRuleViewSet(
    IssuesSecretMixin,
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = AutomationRule.objects.all()
    serializer_class = s.RuleSerializer
    issued_serializer_class = s.RuleIssuedSerializer
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    capabilities = {
        "list": Capability.WORKFLOW_VIEW,
        "retrieve": Capability.WORKFLOW_VIEW,
        "executions": Capability.WORKFLOW_VIEW,
        "backtest": Capability.WORKFLOW_VIEW,
        "create": Capability.AUTOMATION_MANAGE,
        "partial_update": Capability.AUTOMATION_MANAGE,
        "destroy": Capability.AUTOMATION_MANAGE,
    }

    def get_queryset(self):
        queryset = super().get_queryset().order_by("name", "id")
        if self.action == "list":
            latest = AutomationExecution.objects.order_by("rule_id", "-created_at", "-id").distinct("rule_id")
            queryset = queryset.prefetch_related(Prefetch("executions", latest, to_attr="last_executions"))
        return queryset

    def get_serializer_class(self):
        if self.action in ("create", "partial_update"):
            return s.RuleWriteSerializer
        if self.action == "backtest":
            return s.BacktestSerializer
        if self.action == "executions":
            return s.ExecutionSerializer
        return s.RuleSerializer

    def issue(self, *, actor, data):
        return services.rule_create(actor=actor, **data)

    def issued_parts(self, issued):
        rule, secret = issued
        return rule, {"secret": secret}

    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rule = services.rule_update(actor=self.actor, rule=rule, **serializer.validated_data)
        return Response(s.RuleSerializer(rule).data)

    def perform_destroy(self, instance):
        with service_errors():
            services.rule_delete(actor=self.actor, rule=instance)

    @extend_schema(
        summary="Backtest a rule",
        description=(
            "Runs the rule's matchers over the last `days` days of the ledger, without side effects: "
            "what it would have done and how often it would have fired."
        ),
        request=s.BacktestSerializer,
        responses={200: s.BacktestResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def backtest(self, request, pk=None):
        rule = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            result = services.backtest(actor=self.actor, rule=rule, days=serializer.validated_data["days"])
        return Response(s.BacktestResultSerializer(result).data, status=status.HTTP_200_OK)

    @extend_schema(summary="A rule's executions", responses={200: s.ExecutionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def executions(self, request, pk=None):
        rule = self.get_object()
        queryset = AutomationExecution.objects.filter(rule=rule).order_by("-created_at", "-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.ExecutionSerializer(page, many=True).data)
