"""Admin for monitors and probe locations, scoped to the managers' organizations.

Monitors change through their pages, the API and these list actions (pause, resume: service calls
with their ledger entries); a monitor's admin page is view-only, with its latest checks. Probe
locations are created through the API (the agent token is shown once there) and deleted here.
"""

from django.contrib import admin

from monitoring import services
from monitoring.locations.services import location_delete
from monitoring.models import CheckResult, Monitor, ProbeLocation
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, ReadOnlyScopedAdmin, admin_actor

RECENT_CHECKS = 20


class RecentChecks(admin.TabularInline):
    model = CheckResult
    fields = ["checked_at", "location", "outcome", "latency_ms", "message"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    ordering = ["-checked_at"]
    verbose_name_plural = f"Latest {RECENT_CHECKS} checks"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # An admin inline cannot slice; the latest checks by id (ids grow with time) keep it short.
        parent_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if parent_id and str(parent_id).isdigit():
            ids = list(
                CheckResult.objects.filter(monitor_id=int(parent_id))
                .order_by("-checked_at")
                .values_list("pk", flat=True)[:RECENT_CHECKS]
            )
            return queryset.filter(pk__in=ids)
        return queryset.none()


@admin.register(Monitor)
class MonitorAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = [
        "name",
        "organization",
        "kind",
        "state",
        "flapping",
        "paused",
        "service",
        "last_checked_at",
    ]
    list_filter = ["organization", "kind", "state", "paused", "flapping"]
    search_fields = ["name", "target"]
    list_select_related = ["organization", "service"]
    inlines = [RecentChecks]
    actions = ["pause", "resume"]

    def _each(self, request, queryset, call, verb):
        done = 0
        for monitor in queryset:
            actor = admin_actor(request, monitor.organization)
            if self.run_service(request, lambda m=monitor, a=actor: call(actor=a, monitor=m)) is not None:
                done += 1
        self.message_user(request, f"{done} monitor{'s' if done != 1 else ''} {verb}.")

    @admin.action(description="Pause the selected monitors")
    def pause(self, request, queryset):
        self._each(request, queryset, services.monitor_pause, "paused")

    @admin.action(description="Resume the selected monitors")
    def resume(self, request, queryset):
        self._each(request, queryset, services.monitor_resume, "resumed")


@admin.register(ProbeLocation)
class ProbeLocationAdmin(ServiceErrorsAsMessages, ReadOnlyScopedAdmin):
    list_display = ["name", "organization", "created_at", "last_seen_at"]
    list_filter = ["organization"]
    exclude = ["token_hash"]

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    def delete_model(self, request, obj):
        self.run_service(
            request, lambda: location_delete(actor=admin_actor(request, obj.organization), location=obj)
        )

    def delete_queryset(self, request, queryset):
        for location in queryset:
            self.delete_model(request, location)
