"""The ledger in the Django admin: read-only, scoped like every admin to the organizations one manages."""

from django.contrib import admin

from audit.models import LedgerCheckpoint, LedgerEntry, RetentionOverride, RetentionRun
from opsplatform.accounts.admin_scoping import OrganizationListFilter, ReadOnlyScopedAdmin


class LedgerOrganizationFilter(OrganizationListFilter):
    """Superusers may also pick the platform chain (entries of no organization)."""

    include_platform = True


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyScopedAdmin):
    """Append-only: the database refuses changes anyway; the admin offers none.

    Scoping comes from ``get_queryset``, which the detail and history pages use too: another
    organization's entry (and any platform entry, for non-superusers) is "not found".
    """

    list_display = (
        "created_at",
        "organization",
        "sequence",
        "verb",
        "actor_type",
        "actor_label",
        "target_type",
        "target_id",
    )
    list_filter = ("verb", "actor_type", LedgerOrganizationFilter)
    search_fields = ("verb", "target_type", "=target_id", "actor_label")
    date_hierarchy = "created_at"
    list_select_related = ("organization",)
    ordering = ("-created_at", "-pk")
    # The unfiltered total would be a second COUNT over the whole scoped ledger on every page view.
    show_full_result_count = False
    actions = None


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyScopedAdmin):
    """Signed checkpoints of archived spans; append-only in the database, read-only here."""

    list_display = (
        "created_at",
        "organization",
        "first_sequence",
        "last_sequence",
        "count",
        "backend",
        "location",
    )
    list_filter = (LedgerOrganizationFilter,)
    ordering = ("-created_at", "-pk")
    actions = None


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyScopedAdmin):
    """What each retention run removed (changes of settings go through the Data retention page)."""

    list_display = ("started_at", "organization", "kind", "days", "removed", "batches", "status")
    list_filter = ("kind", "status", LedgerOrganizationFilter)
    ordering = ("-started_at", "-pk")
    actions = None


@admin.register(RetentionOverride)
class RetentionOverrideAdmin(ReadOnlyScopedAdmin):
    list_display = ("organization", "kind", "days", "updated_at")
    list_filter = ("kind",)
    actions = None
