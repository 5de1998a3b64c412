"""``/api/v1/analytics/incidents/`` and ``/api/v1/analytics/oncall-load/``.

Both answer synchronously from the rollups, whatever the range (at most ``MAX_DAYS``): the rollup
holds one row per day and key, so a long range is a bounded aggregate, never a scan of incidents,
and no request needs a background job or a 202 to poll. The figures are computed by the same
selectors the page renders (``selectors/incidents.py``, ``selectors/oncall.py``).
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from opsplatform.analytics.selectors import incidents, oncall
from opsplatform.analytics.selectors.filters import GROUP_BY, MAX_DAYS, parse_filters
from opsplatform.analytics.selectors.workflows import workflow_figures
from opsplatform.api.pagination import DefaultPagination, page_size_parameter
from opsplatform.api.viewsets import ActorViewMixin
from opsplatform.core.capabilities import Capability


class FiguresSerializer(serializers.Serializer):
    incidents = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Still open now.")
    alerts = serializers.IntegerField(help_text="Distinct alerts attached to these incidents.")
    acknowledged = serializers.IntegerField()
    resolved = serializers.IntegerField()
    mtta_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean time from trigger to first acknowledgement (acknowledged incidents)."
    )
    mttr_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean time from trigger to resolution (resolved incidents)."
    )
    ack_sla_met = serializers.IntegerField()
    ack_sla_breached = serializers.IntegerField()
    ack_sla_compliance = serializers.FloatField(allow_null=True, help_text="met / (met + breached), 0-1.")
    resolve_sla_met = serializers.IntegerField()
    resolve_sla_breached = serializers.IntegerField()
    resolve_sla_compliance = serializers.FloatField(allow_null=True)
    escalated = serializers.IntegerField(help_text="Incidents whose escalation needed a second step.")
    escalation_rate = serializers.FloatField(allow_null=True)


class GroupSerializer(FiguresSerializer):
    key = serializers.CharField(help_text="The day (YYYY-MM-DD), service id or severity.")
    label = serializers.CharField()


class RangeSerializer(serializers.Serializer):
    # "from" is a Python keyword: declared through the fields dict below.
    to = serializers.DateField()
    time_zone = serializers.CharField(help_text="The organization's zone: days are its calendar days.")
    team = serializers.CharField(allow_null=True, help_text="Team slug, when filtered.")

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.DateField(source="start"), **fields}


class ApprovalWaitSerializer(serializers.Serializer):
    decided = serializers.IntegerField(help_text="Approval requests approved or rejected in the range.")
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    mean_wait_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean time from the request to the decision that closed it."
    )
    p50_wait_seconds = serializers.FloatField(allow_null=True, help_text="Median wait (interpolated).")
    p95_wait_seconds = serializers.FloatField(
        allow_null=True, help_text="95th percentile wait (interpolated)."
    )
    waiting_now = serializers.IntegerField(help_text="Requests waiting for a decision now.")
    oldest_waiting_seconds = serializers.IntegerField(
        allow_null=True, help_text="How long the oldest waiting request has waited."
    )


class TaskBacklogSerializer(serializers.Serializer):
    open_now = serializers.IntegerField(help_text="Tasks open or in progress now.")
    overdue_now = serializers.IntegerField(help_text="Of those, past their due time.")
    created = serializers.IntegerField(help_text="Tasks created in the range.")
    completed = serializers.IntegerField(help_text="Tasks done in the range.")
    mean_time_to_complete_seconds = serializers.FloatField(
        allow_null=True, help_text="Mean time from creation to done, over the tasks completed in the range."
    )


class WorkflowFiguresSerializer(serializers.Serializer):
    approvals = ApprovalWaitSerializer()
    tasks = TaskBacklogSerializer()


class IncidentAnalyticsSerializer(RangeSerializer):
    service = serializers.CharField(allow_null=True, help_text="Service slug, when filtered.")
    group_by = serializers.ChoiceField(choices=GROUP_BY)
    totals = FiguresSerializer()
    workflows = WorkflowFiguresSerializer(
        help_text="Approval waits and task backlog (team and service filters apply; not grouped)."
    )
    count = serializers.IntegerField(help_text="Rows in `results` over all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = GroupSerializer(many=True)


class LoadSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    responder = serializers.CharField()
    time_zone = serializers.CharField(help_text="The responder's zone, in which periods are counted.")
    interruptions = serializers.IntegerField()
    business = serializers.IntegerField(help_text="Interruptions 08-18 Monday-Friday.")
    off_hours = serializers.IntegerField(help_text="Interruptions 18-22 Monday-Friday and 08-22 weekends.")
    sleep = serializers.IntegerField(help_text="Interruptions 22-08.")
    notifications = serializers.IntegerField(help_text="Messages delivered (every medium).")
    incidents = serializers.IntegerField(help_text="Incidents that paged the responder.")
    hours_on_call = serializers.FloatField()


class OnCallLoadSerializer(RangeSerializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LoadSerializer(many=True)


def _range_parameters(*extra):
    return [
        OpenApiParameter(
            "from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD); default 29 days before `to`."
        ),
        OpenApiParameter(
            "to",
            OpenApiTypes.DATE,
            description=f"Last day, included; default today. At most {MAX_DAYS} days.",
        ),
        OpenApiParameter("team", OpenApiTypes.STR, description="Team id or slug."),
        *extra,
        OpenApiParameter(
            "page", OpenApiTypes.INT, description="Page number, from 1; a page past the last is a 400."
        ),
        OpenApiParameter(
            **{k: v for k, v in page_size_parameter().items() if k in ("name", "description")},
            type=OpenApiTypes.INT,
        ),
    ]


class AnalyticsView(ActorViewMixin, APIView):
    capabilities = {"get": Capability.ANALYTICS_VIEW}
    group_by = ("day",)

    def filters(self, request):
        parsed = parse_filters(self.organization, request.query_params, allow_group_by=self.group_by)
        if parsed.errors:
            raise ValidationError({key: [message] for key, message in parsed.errors.items()})
        return parsed.filters

    def page(self, request, rows: list, body: dict) -> Response:
        paginator = DefaultPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        body.update(
            count=paginator.page.paginator.count,
            next=paginator.get_next_link(),
            previous=paginator.get_previous_link(),
            results=page,
        )
        return Response(body)


def _range(f) -> dict:
    return {"start": f.start, "to": f.end, "time_zone": f.time_zone, "team": f.team.slug if f.team else None}


class IncidentAnalyticsView(AnalyticsView):
    group_by = GROUP_BY

    @extend_schema(
        summary="Incident analytics",
        description="Volume, MTTA, MTTR, SLA compliance and escalations over a range of the "
        "organization's days, in total and grouped by day, service or severity; approval waits and "
        "the task backlog under `workflows` (docs/analytics.md).",
        parameters=_range_parameters(
            OpenApiParameter("service", OpenApiTypes.STR, description="Service id or slug."),
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(GROUP_BY), description="Default `day`."),
        ),
        responses=IncidentAnalyticsSerializer,
    )
    def get(self, request):
        f = self.filters(request)
        body = {
            **_range(f),
            "service": f.service.slug if f.service else None,
            "group_by": f.group_by,
            "totals": incidents.totals(f),
            "workflows": workflow_figures(f, timezone.now()),
        }
        response = self.page(request, incidents.grouped(f), body)
        response.data = IncidentAnalyticsSerializer(response.data).data
        return response


class OnCallLoadView(AnalyticsView):
    @extend_schema(
        summary="On-call load per responder",
        description="Interruptions (business, off and sleep hours in each responder's own time zone), "
        "deliveries, incidents and hours on call over a range of the organization's days.",
        parameters=_range_parameters(),
        responses=OnCallLoadSerializer,
    )
    def get(self, request):
        f = self.filters(request)
        rows = oncall.load(f, timezone.now())
        response = self.page(request, rows, _range(f))
        response.data = OnCallLoadSerializer(response.data).data
        return response
