"""Workflows in the admin, for managers, scoped to their organizations
(``opsplatform.accounts.admin_scoping``).

Rows are read-only here; what the admin changes goes through the same services as list actions
(cancel runs, complete or cancel tasks), so nothing skips a guard, a permission check or a ledger
entry. Definitions are edited through the API (a new spec publishes a new version).
"""

from django.contrib import admin

from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, admin_actor
from workflows.automation import admin as automation_admin  # noqa: F401 - registers the automation admins
from workflows.models import ApprovalRequest, Task, TaskStatus, WorkflowDefinition, WorkflowRun
from workflows.services.runs import transition
from workflows.services.task_items import task_update


class _ActionsAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or []) or [f.name for f in self.model._meta.fields]


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(_ActionsAdmin):
    list_display = ["name", "key", "organization", "builtin", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "key"]


@admin.register(WorkflowRun)
class WorkflowRunAdmin(_ActionsAdmin):
    list_display = ["title", "organization", "state", "owner", "created_at", "updated_at"]
    list_filter = ["organization", "state"]
    search_fields = ["title"]
    actions = ["cancel"]

    @admin.action(description="Cancel selected runs (where their state allows it)")
    def cancel(self, request, queryset):
        for run in queryset.select_related("version__definition", "organization"):
            self.run_service(
                request,
                lambda r=run: transition(actor=admin_actor(request, r.organization), run=r, event="cancel"),
            )


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(_ActionsAdmin):
    list_display = ["run", "organization", "status", "required", "received", "requester", "created_at"]
    list_filter = ["organization", "status"]


@admin.register(Task)
class TaskAdmin(_ActionsAdmin):
    list_display = ["title", "organization", "status", "assignee", "due_at", "overdue_at"]
    list_filter = ["organization", "status"]
    search_fields = ["title"]
    actions = ["complete", "cancel"]

    def _set(self, request, queryset, status):
        for task in queryset.select_related("organization"):
            self.run_service(
                request,
                lambda t=task: task_update(actor=admin_actor(request, t.organization), task=t, status=status),
            )

    @admin.action(description="Mark selected tasks done")
    def complete(self, request, queryset):
        self._set(request, queryset, TaskStatus.DONE)

    @admin.action(description="Cancel selected tasks")
    def cancel(self, request, queryset):
        self._set(request, queryset, TaskStatus.CANCELLED)
