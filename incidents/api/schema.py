"""OpenAPI pieces the incident endpoints share: the list's query parameters and the answers of
the state-changing actions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from incidents.api import serializers as s
from incidents.models import Severity, Status
from incidents.selectors import SLA_FILTERS, SORTS
from opsplatform.api.problems import PROBLEM_CONTENT_TYPE
from opsplatform.api.schema import ProblemSerializer

LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        {"type": "array", "items": {"type": "string", "enum": Status.values}},
        explode=True,
        description="Only these statuses (repeatable).",
    ),
    OpenApiParameter(
        "severity",
        {"type": "array", "items": {"type": "string", "enum": Severity.values}},
        explode=True,
        description="Only these severities (repeatable).",
    ),
    OpenApiParameter("service", OpenApiTypes.INT, description="Id of a service."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Id of a team."),
    OpenApiParameter("assignee", OpenApiTypes.INT, description="Id of an assigned member."),
    OpenApiParameter("sla", OpenApiTypes.STR, enum=list(SLA_FILTERS), description="SLA state."),
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="Title text, dedup key, or incident id (`123`, `#123`)."
    ),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS), description="Order (default `newest`)."),
    OpenApiParameter(
        "open", OpenApiTypes.BOOL, description="Only open incidents (ignored when `status` is given)."
    ),
]

LIST_RESPONSES = {
    200: s.IncidentSerializer(many=True),
    (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="A filter value is invalid; `errors` names the parameter."
    ),
}

ACTION_RESPONSES = {
    200: s.IncidentDetailSerializer,
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer,
        description="The incident's state does not allow the action (`invalid-transition`).",
    ),
}


def action_schema(summary: str, capability: str, description: str, request=None):
    return extend_schema(
        summary=summary,
        description=f"{description} Answers with the incident. Requires `{capability}`.",
        request=request,
        responses=ACTION_RESPONSES,
    )
