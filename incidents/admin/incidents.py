"""Admin for incidents, alerts, services and SLA policies (scoped to the managers' organizations)."""

from django.contrib import admin
from django.utils.html import format_html_join

from incidents import services
from incidents.admin.selection import StrictSelection
from incidents.models import Alert, Incident, Service, SLAPolicy
from incidents.selectors import incident_timeline
from incidents.services.sla import sla_policy_delete, sla_policy_save
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import (
    ActionsOnlyScopedAdmin,
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    admin_actor,
)


@admin.register(Service)
class ServiceAdmin(StrictSelection, ServiceErrorsAsMessages, OrganizationScopedAdmin):
    list_display = ["name", "organization", "tier", "owner_team", "default_severity", "in_maintenance"]
    list_filter = ["organization", "tier", "in_maintenance", "default_severity"]
    search_fields = ["name", "slug", "description"]
    fields = [
        "organization",
        "name",
        "description",
        "tier",
        "owner_team",
        "default_severity",
        "in_maintenance",
        "runbook_links",
        "labels",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.organization)
        values = self.form_values(form, [f for f in self.fields if f != "organization"], change)
        if change:
            saved = self.run_service(
                request, lambda: services.service_update(actor=actor, service=obj, **values)
            )
        else:
            saved = self.run_service(
                request,
                lambda: services.service_create(actor=actor, **values),
            )
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        self.run_service(
            request,
            lambda: services.service_delete(actor=admin_actor(request, obj.organization), service=obj),
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Incident)
class IncidentAdmin(StrictSelection, ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    """Read-only rows; state changes are admin actions that call the same services as the pages."""

    list_display = ["id", "title", "organization", "status", "severity", "priority", "service", "created_at"]
    list_filter = ["status", "severity", "priority", "organization", "service", "team"]
    search_fields = ["title", "dedup_key", "description"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "service"]
    readonly_fields = ["timeline"]
    actions = ["acknowledge", "resolve"]
    exclude = ["assignees", "responders"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["timeline"]

    @admin.display(description="Timeline")
    def timeline(self, obj):
        rows = incident_timeline(obj)
        return format_html_join(
            "\n",
            "<div>{} · <strong>{}</strong> {}</div>",
            ((e.created_at, e.actor_label, e.verb) for e in rows),
        )

    def _act(self, request, queryset, call):
        for incident in queryset:
            self.run_service(request, lambda i=incident: call(admin_actor(request, i.organization), i))

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset):
        self._act(request, queryset, lambda a, i: services.incident_acknowledge(actor=a, incident=i))

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset):
        self._act(
            request,
            queryset,
            lambda a, i: services.incident_resolve(actor=a, incident=i, note="Resolved in admin"),
        )


@admin.register(SLAPolicy)
class SLAPolicyAdmin(StrictSelection, ServiceErrorsAsMessages, OrganizationScopedAdmin):
    list_display = [
        "name",
        "organization",
        "service",
        "severity",
        "ack_target_minutes",
        "resolve_target_minutes",
        "calendar",
    ]
    list_filter = ["organization", "calendar", "severity"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        self.run_service(
            request, lambda: sla_policy_save(actor=admin_actor(request, obj.organization), policy=obj)
        )

    def delete_model(self, request, obj):
        self.run_service(
            request, lambda: sla_policy_delete(actor=admin_actor(request, obj.organization), policy=obj)
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Alert)
class AlertAdmin(StrictSelection, ReadOnlyScopedAdmin):
    list_display = ["title", "organization", "status", "severity", "occurrences", "last_seen_at", "incident"]
    list_filter = ["organization", "status", "severity"]
    search_fields = ["title", "dedup_key", "group_key"]
