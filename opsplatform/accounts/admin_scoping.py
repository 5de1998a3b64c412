"""Admin for managers: every model admin of every app scopes itself with this mixin.

Staff members see only the organizations where they hold a managing role; superusers see all.
Another organization's object is simply absent (the admin answers with its "not found" redirect).
Writes that have a service function go through it (see each ModelAdmin's ``save_model``), so the
admin never skips a permission check or a ledger entry.
"""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied

from opsplatform.accounts.models import Membership, Organization
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from opsplatform.core.ids import parse_id

MANAGING_ROLES = (Role.OWNER, Role.ADMIN, Role.MANAGER)


def managed_organization_ids(user) -> list[int]:
    if not (user.is_active and user.is_staff):
        return []
    return list(
        Membership.objects.filter(user=user, role__in=MANAGING_ROLES).values_list(
            "organization_id", flat=True
        )
    )


def admin_actor(request, organization) -> Actor:
    return Actor.for_member(request.user, organization)


def _belongs_to_an_organization(model) -> bool:
    try:
        return model._meta.get_field("organization").related_model is Organization
    except FieldDoesNotExist:
        return False


class OrganizationListFilter(admin.SimpleListFilter):
    """Only organizations the user may see (the stock related filter would list every tenant)."""

    title = "organization"
    parameter_name = "organization"
    PLATFORM = "platform"
    include_platform = False

    def lookups(self, request, model_admin):
        orgs = Organization.objects.order_by("name")
        if not request.user.is_superuser:
            orgs = orgs.filter(pk__in=managed_organization_ids(request.user))
        choices = [(str(pk), name) for pk, name in orgs.values_list("pk", "name")]
        if self.include_platform and request.user.is_superuser:
            choices.append((self.PLATFORM, "Platform (no organization)"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.PLATFORM:
            return queryset.filter(organization__isnull=True)
        # A hand-edited URL ("²", a number past bigint) must not turn the list into a server error.
        organization_id = parse_id(value)
        if organization_id is not None:
            return queryset.filter(organization_id=organization_id)
        return queryset


class OrganizationScopedAdmin(admin.ModelAdmin):
    #: the lookup from this model to its organization
    organization_field = "organization"

    def scope(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": managed_organization_ids(request.user)})

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def get_list_filter(self, request):
        """Django's stock filter on a relation lists every row of the related table, whichever
        organization it belongs to. Here ``organization`` offers the managed ones, and any other
        relation only the values found in the rows this admin may show."""
        scoped = []
        for item in super().get_list_filter(request):
            if item == "organization":
                scoped.append(OrganizationListFilter)
            elif isinstance(item, str) and "__" not in item and self.model._meta.get_field(item).is_relation:
                scoped.append((item, admin.RelatedOnlyFieldListFilter))
            else:
                scoped.append(item)
        return scoped

    def _allowed(self, request, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        ids = managed_organization_ids(request.user)
        if not ids:
            return False
        if obj is None:
            return True
        org_id = (
            obj.pk if isinstance(obj, Organization) else getattr(obj, f"{self.organization_field}_id", None)
        )
        return org_id in ids

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj)

    @staticmethod
    def form_values(form, fields, change: bool) -> dict:
        """What a Save hands its service: the cleaned values of ``fields``; on a change, only those
        the person changed (a service records exactly what changed)."""
        values = {f: form.cleaned_data[f] for f in fields if f in form.cleaned_data}
        return {f: v for f, v in values.items() if f in form.changed_data} if change else values

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Every choice of an organization, or of something that belongs to one (a service, team,
        integration…), comes from the organizations this user manages: a dropdown must not list
        another tenant's names. The service functions refuse a foreign pick anyway."""
        if not request.user.is_superuser:
            related = db_field.related_model
            ids = managed_organization_ids(request.user)
            if related is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk__in=ids)
            elif _belongs_to_an_organization(related):
                kwargs["queryset"] = related._default_manager.filter(organization_id__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActionsOnlyScopedAdmin(ReadOnlyScopedAdmin):
    """Rows that change only through list actions (each a service call with its ledger entry).

    The change list may run the actions; a single row's page is view-only, so its Save can never
    write the whole row behind the services' back (no ledger entry, and it would put back whatever
    another request changed meanwhile).
    """

    def has_change_permission(self, request, obj=None):
        return obj is None and self._allowed(request)

    def save_model(self, request, obj, form, change):
        raise PermissionDenied(f"{obj._meta.verbose_name_plural} change through their actions only.")
