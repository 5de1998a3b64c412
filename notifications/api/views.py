"""On-call and notifications in the REST API: ``/api/v1/schedules/``, ``/escalation-policies/``,
``/channels/`` and ``/notifications/``.

Every write is a service call (``notifications.services``); these views shape input and output.
"""

from datetime import timedelta

import django_filters
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from notifications import oncall, selectors
from notifications.api import serializers as s
from notifications.eventlogs import attach_attempts
from notifications.models import (
    Channel,
    EscalationPolicy,
    Medium,
    Notification,
    NotificationStatus,
    Schedule,
)
from notifications.services import channels as channel_services
from notifications.services import overrides as override_services
from notifications.services import policies as policy_services
from notifications.services import schedules as schedule_services
from notifications.services.outbox import notification_resend
from opsplatform.api.pagination import TimeOrderedCursorPagination
from opsplatform.api.viewsets import IssuesSecretMixin, TenantCrudViewSet, TenantViewSetMixin, service_errors
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"
MAX_GAP_WINDOW_HOURS = 24 * 31


# --- schedules ----------------------------------------------------------------------------------


def _instant(raw: str):
    """``?at=``: an aware ISO 8601 instant schedules can be asked about, or a 400 naming ``at``.
    parse_datetime raises for a well-formed impossible value (Feb 30, offset +25:00) and returns
    None for a malformed one; both are the caller's mistake."""
    message = (
        "An ISO 8601 date-time with a UTC offset between -12:00 and +14:00, from 1970 to 2199, "
        "e.g. 2025-03-30T01:30:00Z."
    )
    try:
        # A "+" in a query string arrives as a space when the client did not encode it.
        parsed = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None or timezone.is_naive(parsed) or not oncall.in_range(parsed):
        raise ValidationError({"at": [message]})
    return parsed


def _segment(segment, users):
    if segment is None:
        return None
    return {
        "user": users.get(segment.user_id),
        "start": segment.start,
        "end": segment.end,
        "source": segment.source,
    }


@extend_schema_view(
    list=extend_schema(summary="List on-call schedules"),
    retrieve=extend_schema(summary="Retrieve a schedule with its layers", description=""),
    create=extend_schema(
        summary="Create a schedule",
        description="With its layers (rotations), computed in the team's time zone.",
    ),
    partial_update=extend_schema(
        summary="Update a schedule",
        description="`layers`, when given, replaces every layer.",
    ),
    destroy=extend_schema(
        summary="Delete a schedule",
        description="Refused while an escalation policy pages it.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class ScheduleViewSet(TenantCrudViewSet):
    queryset = Schedule.objects.select_related("team").prefetch_related("layers__participants")
    serializer_class = s.ScheduleSerializer
    lookup_value_regex = ID_PATTERN
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.TEAM_VIEW,
        "retrieve": Capability.TEAM_VIEW,
        "oncall": Capability.TEAM_VIEW,
        "overrides": Capability.TEAM_VIEW,
        # The service lets team members arrange their own cover; managers arrange anyone's.
        "create_override": Capability.INCIDENT_ACKNOWLEDGE,
        "create": Capability.SCHEDULE_MANAGE,
        "partial_update": Capability.SCHEDULE_MANAGE,
        "destroy": Capability.SCHEDULE_MANAGE,
    }

    def _write_layers(self, actor, schedule, layers):
        for layer in list(schedule.layers.all()):
            schedule_services.layer_delete(actor=actor, layer=layer)
        for data in layers:
            schedule_services.layer_save(
                actor=actor,
                schedule=schedule,
                name=data["name"],
                rotation=data["rotation"],
                shift_hours=data.get("shift_hours"),
                start_date=data["start_date"],
                handoff_time=data["handoff_time"],
                participants=data["participants"],
                priority=data.get("priority"),
                restrictions=[dict(r) for r in data.get("restrictions", [])],
            )

    def _reread(self, schedule):
        return self.get_queryset().get(pk=schedule.pk)

    @transaction.atomic
    def service_create(self, *, actor, data):
        layers = data.pop("layers", [])
        schedule = schedule_services.schedule_create(actor=actor, **data)
        self._write_layers(actor, schedule, layers)
        return self._reread(schedule)

    @transaction.atomic
    def service_update(self, *, actor, instance, data):
        layers = data.pop("layers", None)
        schedule = (
            schedule_services.schedule_update(actor=actor, schedule=instance, **data) if data else instance
        )
        if layers is not None:
            self._write_layers(actor, schedule, layers)
        return self._reread(schedule)

    def service_destroy(self, *, actor, instance):
        schedule_services.schedule_delete(actor=actor, schedule=instance)

    @extend_schema(
        summary="Who is on call",
        description="Who is on call at `at` (default now) and who is next, plus the gaps (nobody on call) "
        "in the `window_hours` after `at`.",
        parameters=[
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="ISO 8601 with offset; default now."),
            OpenApiParameter(
                "window_hours", OpenApiTypes.INT, description="Gap search window, 1-744 (default 336)."
            ),
        ],
        responses=s.OnCallSerializer,
    )
    @action(detail=True, methods=["get"])
    def oncall(self, request, pk=None):
        schedule = self.get_object()
        at = timezone.now()
        raw = request.query_params.get("at")
        if raw:
            at = _instant(raw)
        try:
            window = int(request.query_params.get("window_hours", 24 * 14))
        except ValueError as exc:
            raise ValidationError({"window_hours": ["A whole number of hours."]}) from exc
        if not 1 <= window <= MAX_GAP_WINDOW_HOURS:
            raise ValidationError({"window_hours": [f"Between 1 and {MAX_GAP_WINDOW_HOURS}."]})
        horizon = max(oncall.DEFAULT_NEXT_HORIZON, timedelta(hours=window))
        snap = oncall.snapshot(schedule, at, at + horizon)
        current, upcoming = oncall.current_and_next(snap, at)
        gaps = oncall.gaps(oncall.timeline(snap, at, at + timedelta(hours=window)))
        users = selectors.users_by_id(seg.user_id for seg in (current, upcoming) if seg is not None)
        body = {
            "at": at,
            "time_zone": schedule.team.time_zone,
            "current": _segment(current, users),
            "next": _segment(upcoming, users),
            "gaps": [_segment(g, users) for g in gaps],
        }
        return Response(s.OnCallSerializer(body).data)

    @extend_schema(
        summary="List a schedule's overrides",
        description="Overrides that have not ended yet.",
        responses=s.OverrideSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def overrides(self, request, pk=None):
        schedule = self.get_object()
        queryset = selectors.upcoming_overrides(schedule)
        return Response(s.OverrideSerializer(queryset, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Add an override",
        description="Someone is on call for a time range (covering for `replaces` only, when given). "
        "Beyond that, it needs `schedule.manage`, or being a team member who is one of the two people.",
        request=s.OverrideSerializer,
        responses={201: s.OverrideSerializer},
    )
    @overrides.mapping.post
    def create_override(self, request, pk=None):
        schedule = self.get_object()
        serializer = s.OverrideSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with service_errors():
            override = override_services.cover_create(
                actor=self.actor,
                schedule=schedule,
                kind=override_services.OVERRIDE,
                **serializer.validated_data,
            )
        return Response(s.OverrideSerializer(override).data, status=status.HTTP_201_CREATED)


# --- escalation policies ------------------------------------------------------------------------


def _specs(steps):
    return [
        policy_services.StepSpec(
            delay_minutes=step["delay_minutes"],
            round_robin=step.get("round_robin", False),
            targets=step["targets"],
        )
        for step in steps
    ]


@extend_schema_view(
    list=extend_schema(summary="List escalation policies"),
    retrieve=extend_schema(summary="Retrieve an escalation policy"),
    create=extend_schema(
        summary="Create an escalation policy",
        description="Steps in order; each notifies its targets (`user`, `schedule` (whoever is on call), "
        "`team` (every member) or `channel`) and waits `delay_minutes` before the next.",
    ),
    partial_update=extend_schema(
        summary="Update an escalation policy",
        description="`steps`, when given, replaces every step; `services` and `default_for_teams`, when "
        "given, replace where the policy is used.",
    ),
    destroy=extend_schema(
        summary="Delete an escalation policy",
        description="Its services and teams are left without a policy.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class EscalationPolicyViewSet(TenantCrudViewSet):
    queryset = selectors.policy_with_steps(EscalationPolicy.objects.all()).prefetch_related(
        "service_links__service", "team_links__team"
    )
    serializer_class = s.EscalationPolicySerializer
    lookup_value_regex = ID_PATTERN
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.TEAM_VIEW,
        "retrieve": Capability.TEAM_VIEW,
        "create": Capability.ESCALATION_MANAGE,
        "partial_update": Capability.ESCALATION_MANAGE,
        "destroy": Capability.ESCALATION_MANAGE,
    }

    @transaction.atomic
    def service_create(self, *, actor, data):
        services_ = data.pop("services", None)
        teams = data.pop("default_for_teams", None)
        steps = _specs(data.pop("steps", []))
        policy = policy_services.policy_create(actor=actor, steps=steps, **data)
        if services_ is not None or teams is not None:
            policy_services.policy_attach(
                actor=actor, policy=policy, services=services_, default_for_teams=teams
            )
        return self.get_queryset().get(pk=policy.pk)

    @transaction.atomic
    def service_update(self, *, actor, instance, data):
        services_ = data.pop("services", None)
        teams = data.pop("default_for_teams", None)
        steps = data.pop("steps", None)
        policy = policy_services.policy_update(
            actor=actor, policy=instance, steps=_specs(steps) if steps is not None else None, **data
        )
        if services_ is not None or teams is not None:
            policy_services.policy_attach(
                actor=actor, policy=policy, services=services_, default_for_teams=teams
            )
        return self.get_queryset().get(pk=policy.pk)

    def service_destroy(self, *, actor, instance):
        policy_services.policy_delete(actor=actor, policy=instance)


# --- channels -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List channels", description="Secrets are never returned."),
    retrieve=extend_schema(summary="Retrieve a channel"),
    create=extend_schema(
        summary="Create a channel",
        description="E-mail, Slack or Teams incoming webhook, outbound webhook (HMAC-signed; the signing "
        "secret is returned once, here), or Twilio SMS/voice with the organization's own account.",
        responses={201: s.IssuedChannelSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a channel",
        description="Empty or absent secret fields keep the stored secret; `kind` cannot change.",
        request=s.ChannelUpdateSerializer,
        responses=s.ChannelSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a channel",
        description="Refused while an escalation policy notifies it.",
        responses={204: OpenApiResponse(description="Deleted.")},
    ),
)
class ChannelViewSet(IssuesSecretMixin, TenantCrudViewSet):
    queryset = Channel.objects.all()
    serializer_class = s.ChannelSerializer
    update_serializer_class = s.ChannelUpdateSerializer
    lookup_value_regex = ID_PATTERN
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "created_at", "consecutive_failures"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.INTEGRATION_VIEW,
        "retrieve": Capability.INTEGRATION_VIEW,
        "create": Capability.CHANNEL_MANAGE,
        "partial_update": Capability.CHANNEL_MANAGE,
        "destroy": Capability.CHANNEL_MANAGE,
        "rotate_secret": Capability.CHANNEL_MANAGE,
    }

    issued_serializer_class = s.IssuedChannelSerializer

    def issue(self, *, actor, data):
        return channel_services.channel_create(actor=actor, **data)

    def issued_parts(self, issued):
        return issued.channel, {"signing_secret": issued.signing_secret}

    def service_update(self, *, actor, instance, data):
        return channel_services.channel_update(actor=actor, channel=instance, **data)

    def service_destroy(self, *, actor, instance):
        channel_services.channel_delete(actor=actor, channel=instance)

    @extend_schema(
        summary="Rotate a webhook channel's signing secret",
        description="The new secret is returned once; the old one stops verifying at once.",
        request=None,
        responses=s.IssuedChannelSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        channel = self.get_object()
        with service_errors():
            issued = channel_services.channel_rotate_signing_secret(actor=self.actor, channel=channel)
        return self.issued(issued)


# --- notifications ------------------------------------------------------------------------------


class NotificationFilter(django_filters.FilterSet):
    # By id, not ModelChoiceFilter: "no such choice" for a foreign incident would leak that it exists.
    incident = django_filters.NumberFilter(
        field_name="incident_id", help_text="Only this incident's notifications."
    )
    status = django_filters.MultipleChoiceFilter(choices=NotificationStatus.choices)
    medium = django_filters.MultipleChoiceFilter(choices=Medium.choices)
    recipient = django_filters.NumberFilter(field_name="recipient_id")
    channel = django_filters.NumberFilter(field_name="channel_id")

    class Meta:
        model = Notification
        fields = ["incident", "status", "medium", "recipient", "channel"]


@extend_schema_view(
    list=extend_schema(
        summary="List notifications (the delivery outbox)",
        description="Newest first, with every attempt. Filter by `incident`, `status`, `medium`, "
        "`recipient`, `channel`. Paged by cursor: follow `next`.",
    ),
    retrieve=extend_schema(summary="Retrieve a notification"),
)
class NotificationViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Notification.objects.select_related("recipient")
    serializer_class = s.NotificationSerializer

    def paginate_queryset(self, queryset):
        # The page's attempts in one read, from wherever the event log keeps them.
        page = super().paginate_queryset(queryset)
        return None if page is None else attach_attempts(page)

    lookup_value_regex = ID_PATTERN
    pagination_class = TimeOrderedCursorPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_class = NotificationFilter
    capabilities = {
        "list": Capability.INCIDENT_VIEW,
        "retrieve": Capability.INCIDENT_VIEW,
        "resend": Capability.INCIDENT_MANAGE,
    }

    @extend_schema(
        summary="Resend a dead letter",
        description="Gives a dead-lettered notification a fresh set of attempts (same delivery id). "
        "Anything but a dead letter answers 400.",
        request=None,
        responses=s.NotificationSerializer,
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        notification = self.get_object()
        with service_errors():
            notification_resend(actor=self.actor, notification=notification)
        return Response(self.get_serializer(self.get_queryset().get(pk=notification.pk)).data)
