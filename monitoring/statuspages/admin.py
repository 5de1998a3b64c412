"""Status pages in the admin, for managers, scoped to their organizations. Rows are read-only here
(pages, components and notices change on their pages or through the API, through the services);
the list actions publish or unpublish pages and cancel a subscriber's pending mails, each through
the services."""

from django.contrib import admin

from monitoring.statuspages.models import (
    StatusComponent,
    StatusDelivery,
    StatusNotice,
    StatusPage,
    StatusSubscriber,
)
from monitoring.statuspages.services import page_update
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
class SubscriberAdmin(_ReadOnly):
    list_display = ["email", "page", "created_at", "confirmed_at", "unsubscribed_at", "organization"]
    list_filter = ["organization"]
    search_fields = ["email"]


@admin.register(StatusDelivery)
class DeliveryAdmin(_ReadOnly):
    list_display = [
        "pk",
        "kind",
        "subscriber",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "organization",
    ]
    list_filter = ["organization", "kind", "status"]
