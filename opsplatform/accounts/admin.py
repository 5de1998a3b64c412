from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from opsplatform.accounts import services
from opsplatform.accounts.admin_scoping import (
    ActionsOnlyScopedAdmin,
    OrganizationScopedAdmin,
    admin_actor,
    managed_organization_ids,
)
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from opsplatform.core.actors import Actor


class ServiceErrorsAsMessages:
    """A refused service call becomes an admin error message, not a server error."""

    def run_service(self, request, call):
        try:
            return call()
        except (ValidationError, PermissionDenied) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Not saved: {text}", level=messages.ERROR)
            return None


@admin.register(Organization)
class OrganizationAdmin(ServiceErrorsAsMessages, OrganizationScopedAdmin):
    organization_field = "pk"
    list_display = ["name", "slug", "time_zone", "require_2fa_for_admins", "created_at"]
    list_filter = ["require_2fa_for_admins"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "time_zone", "require_2fa_for_admins"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger protects an organization's history; deletion is not an admin click

    def save_model(self, request, obj, form, change):
        if not change:
            self.run_service(
                request,
                lambda: services.organization_create(name=obj.name, slug=obj.slug, owner=request.user),
            )
            return
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        self.run_service(
            request,
            lambda: services.organization_update(
                actor=admin_actor(request, obj), organization=obj, **changes
            ),
        )


@admin.register(Membership)
class MembershipAdmin(ServiceErrorsAsMessages, OrganizationScopedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    fields = ["organization", "user", "role"]
    readonly_fields = ["organization", "user"]
    actions = ["remove_members"]

    def has_add_permission(self, request):
        return False  # people join through invitations

    def save_model(self, request, obj, form, change):
        self.run_service(
            request,
            lambda: services.membership_change_role(
                actor=admin_actor(request, obj.organization), membership=obj, role=form.cleaned_data["role"]
            ),
        )

    def delete_model(self, request, obj):
        self.run_service(
            request,
            lambda: services.membership_remove(actor=admin_actor(request, obj.organization), membership=obj),
        )

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            self.delete_model(request, membership)

    @admin.action(description="Remove selected members")
    def remove_members(self, request, queryset):
        self.delete_queryset(request, queryset)


@admin.register(Team)
class TeamAdmin(ServiceErrorsAsMessages, OrganizationScopedAdmin):
    list_display = ["name", "organization", "time_zone", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "slug", "description"]
    fields = ["organization", "name", "description", "time_zone", "members"]
    filter_horizontal = ["members"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(
                memberships__organization__in=managed_organization_ids(request.user)
            ).distinct()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.organization)
        if change:
            changes = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in ("name", "description", "time_zone")
            }
            saved = self.run_service(request, lambda: services.team_update(actor=actor, team=obj, **changes))
        else:
            saved = self.run_service(
                request,
                lambda: services.team_create(
                    actor=actor, name=obj.name, description=obj.description, time_zone=obj.time_zone
                ),
            )
        if saved is not None:
            obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        team = form.instance
        if team.pk is None:
            return
        self.run_service(
            request,
            lambda: services.team_set_members(
                actor=admin_actor(request, team.organization), team=team, users=form.cleaned_data["members"]
            ),
        )

    def delete_model(self, request, obj):
        self.run_service(
            request, lambda: services.team_delete(actor=admin_actor(request, obj.organization), team=obj)
        )

    def delete_queryset(self, request, queryset):
        for team in queryset:
            self.delete_model(request, team)


@admin.register(Invitation)
class InvitationAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = ["email", "organization", "role", "status", "created_at", "expires_at"]
    list_filter = ["role", "organization"]
    search_fields = ["email"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token_hash"]

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        for invitation in queryset:
            self.run_service(
                request,
                lambda inv=invitation: services.invitation_revoke(
                    actor=admin_actor(request, inv.organization), invitation=inv
                ),
            )


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "organization",
        "role",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["organization", "role"]
    search_fields = ["name", "prefix", "user__username"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "key_hash"]

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            self.run_service(
                request,
                lambda t=token: services.api_token_revoke(
                    actor=admin_actor(request, t.organization), token=t
                ),
            )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Superusers manage accounts; managers may look up the people of their organizations."""

    list_display = ["username", "email", "display_name", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "email", "display_name"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            memberships__organization__in=managed_organization_ids(request.user)
        ).distinct()

    def has_module_permission(self, request):
        return request.user.is_superuser or bool(managed_organization_ids(request.user))

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return bool(managed_organization_ids(request.user)) and (
            obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        """Activation goes through its service: the ledger records it and the person's open
        websockets re-check their access at once. The rest of the form saves as Django's admin does."""
        if not (change and "is_active" in form.changed_data):
            return super().save_model(request, obj, form, change)
        wanted = obj.is_active
        obj.is_active = not wanted
        super().save_model(request, obj, form, change)
        try:
            services.user_set_active(actor=Actor.for_member(request.user, None), user=obj, is_active=wanted)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return None
        obj.is_active = wanted
        return None

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
