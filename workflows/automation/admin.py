"""Automation in the admin, for managers, scoped to their organizations. Rows are read-only; enabling
and disabling go through ``rule_update`` (permission check, ledger entry). Rules are written on the
automation pages or through the API, where conditions and actions are validated and explained."""

from django.contrib import admin

from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, admin_actor
from workflows.automation.models import AutomationExecution, AutomationRule
from workflows.automation.services import rule_update


class _ReadOnly(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "webhook_secret"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)


@admin.register(AutomationRule)
class AutomationRuleAdmin(_ReadOnly):
    list_display = ["name", "organization", "trigger", "enabled", "once_per_incident", "updated_at"]
    list_filter = ["organization", "trigger", "enabled"]
    search_fields = ["name"]
    actions = ["enable", "disable"]

    def _set(self, request, queryset, enabled):
        for rule in queryset.select_related("organization"):
            self.run_service(
                request,
                lambda r=rule: rule_update(
                    actor=admin_actor(request, r.organization), rule=r, enabled=enabled
                ),
            )

    @admin.action(description="Enable selected rules")
    def enable(self, request, queryset):
        self._set(request, queryset, True)

    @admin.action(description="Disable selected rules")
    def disable(self, request, queryset):
        self._set(request, queryset, False)


@admin.register(AutomationExecution)
class AutomationExecutionAdmin(_ReadOnly):
    list_display = ["rule", "organization", "event_verb", "state", "attempts", "incident", "created_at"]
    list_filter = ["organization", "state"]
