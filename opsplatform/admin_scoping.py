"""Admin for managers: every model admin of every app scopes itself with this mixin.

Staff members see only the organizations where they hold a managing role; superusers see all.
Another organization's object is simply absent (the admin answers with its "not found" redirect).
Writes that have a service function go through it (see each ModelAdmin's ``save_model``), so the
admin never skips a permission check or a ledger entry.
"""

from django.contrib import admin

from opsplatform.accounts.capabilities import Role
from opsplatform.accounts.models import Membership, Organization
from opsplatform.actors import Actor

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


class OrganizationScopedAdmin(admin.ModelAdmin):
    #: the lookup from this model to its organization
    organization_field = "organization"

    def scope(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.organization_field}__in": managed_organization_ids(request.user)})

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not request.user.is_superuser:
            kwargs["queryset"] = Organization.objects.filter(pk__in=managed_organization_ids(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
