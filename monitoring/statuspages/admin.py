"""Status pages in the admin, for managers, scoped to their organizations. Rows are read-only here
(pages, components and notices change on their pages or through the API, through the services);
the list actions publish or unpublish pages and enable or remove webhook subscribers, each through
the services. A webhook's signing secret is never shown."""

from django.contrib import admin

from monitoring.statuspages.models import (
    StatusComponent,
    StatusDelivery,
    StatusNotice,
    StatusPage,
    StatusSubscriber,
)
from monitoring.statuspages.services import page_update, webhook_enable, webhook_remove
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, ReadOnlyScopedAdmin, admin_actor


class _ReadOnly(ServiceErrorsAsMessages, ReadOnlyScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(StatusPage)
class StatusPageAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = ["title", "organization", "slug", "published", "custom_domain", "subscriptions_enabled"]
    list_filter = ["organization", "published"]
    search_fields = ["title", "slug", "custom_domain"]
    actions = ["publish", "unpublish"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def _set(self, request, queryset, published: bool):
        for page in queryset:
            self.run_service(
                request,
                lambda p=page: page_update(
                    actor=admin_actor(request, p.organization), page=p, published=published
                ),
            )

    @admin.action(description="Publish selected pages")
    def publish(self, request, queryset):
        self._set(request, queryset, True)

    @admin.action(description="Unpublish selected pages")
    def unpublish(self, request, queryset):
        self._set(request, queryset, False)


@admin.register(StatusComponent)
class StatusComponentAdmin(_ReadOnly):
    list_display = ["name", "page", "group", "position", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "group"]


@admin.register(StatusNotice)
class NoticeAdmin(_ReadOnly):
    list_display = ["title", "page", "kind", "status", "created_at", "resolved_at", "organization"]
    list_filter = ["organization", "kind", "status"]
    search_fields = ["title"]


@admin.register(StatusSubscriber)
class SubscriberAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = [
        "__str__",
        "kind",
        "page",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "disabled_at",
        "last_delivery_ok",
        "organization",
    ]
    list_filter = ["organization", "kind"]
    search_fields = ["email", "description"]
    exclude = ["secret", "url"]
    actions = ["enable_webhooks", "remove_webhooks"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude] + ["endpoint"]

    def _each_webhook(self, request, queryset, service):
        for hook in queryset.filter(kind="webhook"):
            self.run_service(
                request, lambda h=hook: service(actor=admin_actor(request, h.organization), subscriber=h)
            )

    @admin.action(description="Enable selected webhook subscribers again")
    def enable_webhooks(self, request, queryset):
        self._each_webhook(request, queryset, webhook_enable)

    @admin.action(description="Remove selected webhook subscribers")
    def remove_webhooks(self, request, queryset):
        self._each_webhook(request, queryset, webhook_remove)


@admin.register(StatusDelivery)
class DeliveryAdmin(_ReadOnly):
    list_display = [
        "pk",
        "kind",
        "subscriber",
        "status",
        "attempts",
        "status_code",
        "next_attempt_at",
        "sent_at",
        "organization",
    ]
    list_filter = ["organization", "kind", "status"]
