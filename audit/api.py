"""``/api/v1/ledger/``: the organization's ledger, read-only and filterable."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from audit.models import LedgerEntry
from opsplatform.api.filters import ApiFilterSet, BoundedIsoDateTimeFilter
from opsplatform.api.pagination import TimeOrderedCursorPagination
from opsplatform.api.serializers import StrictModelSerializer
from opsplatform.api.viewsets import TenantViewSetMixin
from opsplatform.core.actors import ActorKind
from opsplatform.core.capabilities import Capability


class LedgerEntrySerializer(StrictModelSerializer):
    data = serializers.JSONField(read_only=True, help_text="Event details; the shape depends on the verb.")

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "sequence",
            "created_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "verb",
            "target_type",
            "target_id",
            "data",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class LedgerEntryFilter(ApiFilterSet):
    actor_type = filters.ChoiceFilter(choices=ActorKind.choices, help_text="Kind of actor.")
    actor_id = filters.CharFilter(help_text="Id of the user, API token, integration, or the system job name.")
    verb = filters.CharFilter(help_text="Exact verb, e.g. `member.role_changed`.")
    verb_prefix = filters.CharFilter(
        field_name="verb", lookup_expr="startswith", help_text="Verb prefix, e.g. `member.`."
    )
    target_type = filters.CharFilter(help_text="`app_label.model` of the target, e.g. `accounts.team`.")
    target_id = filters.CharFilter(help_text="Primary key of the target.")
    since = BoundedIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Entries at or after this ISO 8601 time."
    )
    until = BoundedIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Entries before this ISO 8601 time."
    )

    class Meta:
        model = LedgerEntry
        fields = []


class SequenceCursorPagination(TimeOrderedCursorPagination):
    # The sequence is unique within the organization's chain and indexed with it: a cursor over it
    # needs no tie-breaker, and entries appended while a client pages never shift its pages.
    ordering = ("-sequence",)


@extend_schema_view(
    list=extend_schema(
        summary="List ledger entries",
        description=(
            "The organization's immutable event ledger, newest first (by sequence). "
            "Each entry carries `prev_hash`, the `entry_hash` of the entry before it, forming a hash chain."
        ),
    ),
    retrieve=extend_schema(summary="Retrieve a ledger entry"),
)
class LedgerEntryViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = LedgerEntry.objects.all()
    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerEntryFilter
    filter_backends = [filters.DjangoFilterBackend]
    pagination_class = SequenceCursorPagination
    capabilities = {"list": Capability.AUDIT_VIEW, "retrieve": Capability.AUDIT_VIEW}
