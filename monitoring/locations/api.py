"""Probe locations in the API: ``/api/v1/probe-locations/`` (members with ``monitor.manage`` create
and delete them; the creation answer carries the agent token once) and the agent's own endpoints,
``POST /api/v1/probe-agent/lease/`` and ``POST /api/v1/probe-agent/results/``, authenticated by the
location's token (``Authorization: Bearer opa_…``) and nothing else: an agent acts for its location
only, and a member's API token is refused there.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.locations import services
from monitoring.locations.models import ProbeLocation
from monitoring.models import Outcome
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer
from opsplatform.api.viewsets import TenantCrudViewSet
from opsplatform.core.capabilities import Capability

MAX_TOKEN = 128
MAX_RESULTS = 500


class AgentTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer":
            return None
        token = header[1].decode("ascii", errors="replace")
        if not token.startswith(services.TOKEN_PREFIX):
            return None
        location = (
            ProbeLocation.objects.select_related("organization")
            .filter(token_hash=services.token_digest(token[:MAX_TOKEN]))
            .first()
        )
        if location is None:
            raise exceptions.AuthenticationFailed(_("The agent token is invalid."))
        return (None, location)

    def authenticate_header(self, request):
        return 'Bearer realm="probe-agent"'


class AgentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "monitoring.locations.api.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A probe location's agent token (`opa_…`).",
        }


class IsAgent(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ProbeLocation)


class ProbeLocationSerializer(StrictModelSerializer):
    token = serializers.SerializerMethodField(help_text="In the creation answer only: the agent's token.")

    class Meta:
        model = ProbeLocation
        fields = ["id", "name", "created_at", "last_seen_at", "token"]
        read_only_fields = ["id", "created_at", "last_seen_at", "token"]

    def get_token(self, location) -> str | None:
        return getattr(location, "issued_token", None)


class ProbeLocationViewSet(TenantCrudViewSet):
    queryset = ProbeLocation.objects.all()
    serializer_class = ProbeLocationSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]+"
    capabilities = {
        "list": Capability.MONITOR_VIEW,
        "retrieve": Capability.MONITOR_VIEW,
        "create": Capability.MONITOR_MANAGE,
        "destroy": Capability.MONITOR_MANAGE,
    }

    def service_create(self, *, actor, data):
        issued = services.location_create(actor=actor, name=data["name"])
        issued.location.issued_token = issued.token
        return issued.location

    def service_destroy(self, *, actor, instance):
        services.location_delete(actor=actor, location=instance)


class LeaseRequest(StrictSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=services.MAX_LEASE, default=100)
    lookahead = serializers.FloatField(min_value=0, max_value=services.MAX_LOOKAHEAD_SECONDS, default=2.0)


class LeasedCheck(serializers.Serializer):
    monitor = serializers.IntegerField()
    kind = serializers.CharField()
    target = serializers.CharField()
    timeout = serializers.FloatField()
    assertions = serializers.DictField()
    degraded_latency_ms = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField()


class LeaseResponse(serializers.Serializer):
    location = serializers.CharField()
    checks = LeasedCheck(many=True)


class ResultItem(StrictSerializer):
    monitor = serializers.IntegerField()
    due_at = serializers.DateTimeField(help_text="The due time of the lease, as leased.")
    started_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    latency_ms = serializers.FloatField(required=False, allow_null=True, min_value=0)
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ResultsRequest(StrictSerializer):
    results = ResultItem(many=True, max_length=MAX_RESULTS)


class ResultsResponse(serializers.Serializer):
    recorded = serializers.IntegerField()
    stale = serializers.IntegerField(help_text="Results whose lease had ended or was reported already.")


class AgentView(APIView):
    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAgent]
    throttle_classes = []


class AgentLeaseView(AgentView):
    @extend_schema(
        summary="Lease due checks (probe agent)",
        description="Claims this location's checks due within `lookahead` seconds; probe each at its "
        "`due_at` and report it with that `due_at`. Leases end after 120 s.",
        request=LeaseRequest,
        responses={200: LeaseResponse, 401: OpenApiResponse(description="Unknown agent token.")},
        auth=[{"agentToken": []}],
    )
    def post(self, request):
        params = LeaseRequest(data=request.data)
        params.is_valid(raise_exception=True)
        leases = services.agent_lease(location=request.auth, **params.validated_data)
        checks = [
            {
                "monitor": lease.spec.monitor_id,
                "kind": lease.spec.kind,
                "target": lease.spec.target,
                "timeout": lease.spec.timeout,
                "assertions": lease.spec.assertions,
                "degraded_latency_ms": lease.spec.degraded_latency_ms,
                "due_at": lease.due_at,
            }
            for lease in leases
        ]
        return Response(LeaseResponse({"location": request.auth.name, "checks": checks}).data)


class AgentResultsView(AgentView):
    @extend_schema(
        summary="Report check results (probe agent)",
        request=ResultsRequest,
        responses={200: ResultsResponse, 401: OpenApiResponse(description="Unknown agent token.")},
        auth=[{"agentToken": []}],
    )
    def post(self, request):
        body = ResultsRequest(data=request.data)
        body.is_valid(raise_exception=True)
        recorded = stale = 0
        for item in body.validated_data["results"]:
            report = services.Report(
                monitor_id=item["monitor"],
                due_at=item["due_at"],
                outcome=item["outcome"],
                started_at=item["started_at"],
                latency_ms=item.get("latency_ms"),
                message=item.get("message", ""),
            )
            if services.agent_report(location=request.auth, report=report):
                recorded += 1
            else:
                stale += 1
        return Response({"recorded": recorded, "stale": stale})
