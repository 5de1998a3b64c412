"""On-call and notifications in the admin, for managers, scoped to their organizations
(``opsplatform.accounts.admin_scoping``).

Rows are read-only here: schedules, policies and channels are edited on their pages, where forms
and services validate them. What the admin can change goes through the same services as actions
(resend a dead letter, enable or disable a channel), so nothing skips a permission check or a ledger
entry. Channel secrets are not shown at all, not even encrypted.
"""

from django.contrib import admin
from django.utils.html import format_html_join

from notifications.models import Channel, EscalationPolicy, Notification, NotificationStatus, Schedule
from notifications.services.channels import channel_update
from notifications.services.outbox import notification_resend
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, admin_actor


class _ActionsAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or []) or [f.name for f in self.model._meta.fields]


@admin.register(Channel)
class ChannelAdmin(_ActionsAdmin):
    list_display = ["name", "organization", "kind", "is_active", "consecutive_failures", "last_success_at"]
    list_filter = ["organization", "kind", "is_active"]
    search_fields = ["name"]
    fields = [
        "organization",
        "name",
        "kind",
        "is_active",
        "config",
        "secret_hint",
        "last_success_at",
        "last_failure_at",
        "last_error",
        "consecutive_failures",
        "created_at",
    ]
    actions = ["enable", "disable"]

    def _set_active(self, request, queryset, active: bool):
        for channel in queryset:
            self.run_service(
                request,
                lambda c=channel: channel_update(
                    actor=admin_actor(request, c.organization), channel=c, is_active=active
                ),
            )

    @admin.action(description="Enable selected channels")
    def enable(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Disable selected channels")
    def disable(self, request, queryset):
        self._set_active(request, queryset, False)


@admin.register(Schedule)
class ScheduleAdmin(_ActionsAdmin):
    list_display = ["name", "organization", "team", "created_at"]
    list_filter = ["organization", "team"]
    search_fields = ["name"]
    fields = ["organization", "team", "name", "description", "layers_summary", "created_at"]

    @admin.display(description="Layers")
    def layers_summary(self, obj):
        return format_html_join(
            "\n",
            "<div>{} · {} · {}</div>",
            (
                (
                    layer.name,
                    layer.get_rotation_display(),
                    ", ".join(p.user.username for p in layer.participants.all()),
                )
                for layer in obj.layers.prefetch_related("participants__user")
            ),
        )


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(_ActionsAdmin):
    list_display = ["name", "organization", "team", "repeat_count", "updated_at"]
    list_filter = ["organization", "team"]
    search_fields = ["name"]
    fields = ["organization", "name", "description", "team", "repeat_count", "steps_summary", "updated_at"]

    @admin.display(description="Steps")
    def steps_summary(self, obj):
        return format_html_join(
            "\n",
            "<div>{}. {} then {} min</div>",
            (
                (step.position + 1, ", ".join(str(t) for t in step.targets.all()), step.delay_minutes)
                for step in obj.steps.prefetch_related(
                    "targets__user", "targets__schedule", "targets__team", "targets__channel"
                )
            ),
        )


@admin.register(Notification)
class NotificationAdmin(_ActionsAdmin):
    list_display = [
        "id",
        "incident_id",
        "organization",
        "medium",
        "destination",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "medium", "organization"]
    search_fields = ["destination", "idempotency_key", "last_error"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    fields = [
        "organization",
        "incident",
        "idempotency_key",
        "step",
        "cycle",
        "medium",
        "destination",
        "recipient",
        "channel",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "sent_at",
        "attempt_history",
    ]
    actions = ["resend"]

    @admin.display(description="Attempts")
    def attempt_history(self, obj):
        return format_html_join(
            "\n",
            "<div>#{} {} · {} · {} · {} ms · {}</div>",
            (
                (a.number, a.started_at, a.outcome, a.status_code or "—", a.duration_ms, a.error)
                for a in obj.attempt_entries
            ),
        )

    @admin.action(description="Resend selected dead letters")
    def resend(self, request, queryset):
        for notification in queryset.filter(status=NotificationStatus.DEAD).select_related("incident"):
            self.run_service(
                request,
                lambda n=notification: notification_resend(
                    actor=admin_actor(request, n.organization), notification=n
                ),
            )
