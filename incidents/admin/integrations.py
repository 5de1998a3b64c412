"""Admin for integrations, routing rules, maintenance windows and raw payloads (scoped to the managers'
organizations). Writes go through ``incidents.ingest.services``; a new or rotated key is shown
once, on the page that answers the request, never in a message (messages travel in a cookie).
"""

from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.html import format_html

from incidents.admin.selection import StrictSelection
from incidents.ingest import services
from incidents.ingest.integration_summary import ingestion_url, integration_counters
from incidents.ingest.services import MAINTENANCE_WINDOW_FIELDS, ROUTING_RULE_FIELDS
from incidents.models import Integration, MaintenanceWindow, RawPayload, RoutingRule
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import (
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    admin_actor,
)

INTEGRATION_SETTINGS = [
    "service",
    "enabled",
    "grouping",
    "group_window_seconds",
    "auto_resolve",
    "throttle_rate",
    "webhook_mapping",
    "heartbeat_period_seconds",
    "heartbeat_grace_seconds",
    "hmac_header",
    "hmac_timestamp_header",
]


class DeleteThroughServiceMixin:
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Integration)
class IntegrationAdmin(
    StrictSelection, ServiceErrorsAsMessages, DeleteThroughServiceMixin, OrganizationScopedAdmin
):
    list_display = ["name", "organization", "kind", "service", "enabled", "received", "last_received_at"]
    list_filter = ["organization", "kind", "enabled"]
    search_fields = ["name", "key_prefix"]
    list_select_related = ["organization", "service"]
    fields = ["organization", "name", "kind", *INTEGRATION_SETTINGS, "key_prefix", "url", "counters"]
    actions = ["rotate_key"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["key_prefix", "url", "counters"]
        return ["organization", "kind", *fixed] if obj else fixed

    @admin.display(description="Received")
    def received(self, obj):
        return integration_counters(obj)["received"]

    @admin.display(description="Ingestion URL")
    def url(self, obj):
        return ingestion_url(obj.kind) if obj and obj.kind else "—"

    @admin.display(description="Counters")
    def counters(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        c = integration_counters(obj)
        return format_html(
            "received {} · deduplicated {} · dropped {} · last {}",
            c["received"],
            c["deduplicated"],
            c["dropped"],
            c["last_received_at"] or "never",
        )

    def _keys_page(self, request, issued: list, verb: str):
        rows = [
            {
                "issued": item,
                "url": ingestion_url(item.integration.kind, item.key),
                "change_url": reverse("admin:incidents_integration_change", args=[item.integration.pk]),
            }
            for item in issued
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "verb": verb,
            "issued": issued,
            "rows": rows,
            "list_url": reverse("admin:incidents_integration_changelist"),
        }
        response = render(request, "incidents/admin/issued_keys.html", context)
        patch_cache_control(response, no_store=True, private=True)
        return response

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_issued_integration_keys", None)
        if issued:
            return self._keys_page(request, issued, "Created")
        return super().response_add(request, obj, post_url_continue)

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.organization)
        values = self.form_values(form, [*INTEGRATION_SETTINGS, "name"], change)
        if change:
            saved = self.run_service(
                request, lambda: services.integration_update(actor=actor, integration=obj, **values)
            )
        else:
            issued = self.run_service(
                request,
                lambda: services.integration_create(actor=actor, kind=form.cleaned_data["kind"], **values),
            )
            saved = issued.integration if issued else None
            if issued:
                request._issued_integration_keys = [issued]  # shown by response_add
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        self.run_service(
            request,
            lambda: services.integration_delete(
                actor=admin_actor(request, obj.organization), integration=obj
            ),
        )

    @admin.action(description="Rotate the key of the selected integrations (old key works 24 h)")
    def rotate_key(self, request, queryset):
        issued = []
        for integration in queryset:
            done = self.run_service(
                request,
                lambda i=integration: services.integration_rotate_key(
                    actor=admin_actor(request, i.organization), integration=i
                ),
            )
            if done:
                issued.append(done)
        return self._keys_page(request, issued, "Rotated") if issued else None


@admin.register(RoutingRule)
class RoutingRuleAdmin(
    StrictSelection, ServiceErrorsAsMessages, DeleteThroughServiceMixin, OrganizationScopedAdmin
):
    list_display = ["name", "integration", "position", "action", "route_service", "set_severity", "enabled"]
    list_filter = ["organization", "action", "enabled"]
    search_fields = ["name", "integration__name"]
    list_select_related = ["integration", "route_service"]
    fields = ["integration", *ROUTING_RULE_FIELDS]
    editable = ROUTING_RULE_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return ["integration"] if obj else []

    def save_model(self, request, obj, form, change):
        integration = obj.integration
        actor = admin_actor(request, integration.organization)
        values = self.form_values(form, self.editable, change)
        if change:
            saved = self.run_service(
                request, lambda: services.routing_rule_update(actor=actor, rule=obj, **values)
            )
        else:
            name = values.pop("name")
            saved = self.run_service(
                request,
                lambda: services.routing_rule_create(
                    actor=actor, integration=integration, name=name, **values
                ),
            )
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        self.run_service(
            request,
            lambda: services.routing_rule_delete(actor=admin_actor(request, obj.organization), rule=obj),
        )


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(
    StrictSelection, ServiceErrorsAsMessages, DeleteThroughServiceMixin, OrganizationScopedAdmin
):
    list_display = ["name", "organization", "service", "recurrence", "starts_at", "ends_at", "enabled"]
    list_filter = ["organization", "recurrence", "enabled"]
    search_fields = ["name"]
    list_select_related = ["organization", "service"]
    fields = ["organization", *MAINTENANCE_WINDOW_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.organization)
        values = self.form_values(form, MAINTENANCE_WINDOW_FIELDS, change)
        if change:
            saved = self.run_service(
                request, lambda: services.maintenance_window_update(actor=actor, window=obj, **values)
            )
        else:
            saved = self.run_service(
                request, lambda: services.maintenance_window_create(actor=actor, **values)
            )
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        self.run_service(
            request,
            lambda: services.maintenance_window_delete(
                actor=admin_actor(request, obj.organization), window=obj
            ),
        )


@admin.register(RawPayload)
class RawPayloadAdmin(StrictSelection, ReadOnlyScopedAdmin):
    list_display = ["received_at", "integration", "organization", "size", "truncated"]
    list_filter = ["organization", "truncated"]
    list_select_related = ["integration", "organization"]
    date_hierarchy = "received_at"
    search_fields = ["integration__name"]
