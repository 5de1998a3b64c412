"""The ledger in the Django admin: read-only, scoped like every admin to the organizations one manages."""

from django.contrib import admin

from audit.models import LedgerEntry
from opsplatform.accounts.models import Organization
from opsplatform.admin_scoping import ReadOnlyScopedAdmin, managed_organization_ids


class OrganizationListFilter(admin.SimpleListFilter):
    """Only organizations the user may see (the stock related filter would list every tenant)."""

    title = "organization"
    parameter_name = "organization"
    PLATFORM = "platform"

    def lookups(self, request, model_admin):
        orgs = Organization.objects.order_by("name")
        if not request.user.is_superuser:
            orgs = orgs.filter(pk__in=managed_organization_ids(request.user))
        choices = [(str(pk), name) for pk, name in orgs.values_list("pk", "name")]
        if request.user.is_superuser:
            choices.append((self.PLATFORM, "Platform (no organization)"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.PLATFORM:
            return queryset.filter(organization__isnull=True)
        if value and value.isdigit():
            return queryset.filter(organization_id=int(value))
        return queryset


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
    list_filter = ("verb", "actor_type", OrganizationListFilter)
    search_fields = ("verb", "target_type", "=target_id", "actor_label")
    date_hierarchy = "created_at"
    list_select_related = ("organization",)
    ordering = ("-created_at", "-pk")
    # The unfiltered total would be a second COUNT over the whole scoped ledger on every page view.
    show_full_result_count = False
    actions = None
