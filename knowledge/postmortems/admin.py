"""Postmortems in the admin, for managers, scoped to their organizations. Rows are read-only; the
one change offered (re-sync from the ledger) goes through the service, with its ledger entry."""

from django.contrib import admin

from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, admin_actor

from .models import Postmortem
from .services import postmortem_resync


@admin.register(Postmortem)
class PostmortemAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    list_display = ["title", "organization", "status", "incident", "revision", "published_at", "updated_at"]
    list_filter = ["organization", "status"]
    search_fields = ["title"]
    actions = ["resync"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Re-sync the timeline from the ledger (drafts and reviews only)")
    def resync(self, request, queryset):
        for postmortem in queryset.select_related("organization"):
            self.run_service(
                request,
                lambda p=postmortem: postmortem_resync(
                    actor=admin_actor(request, p.organization), postmortem=p
                ),
            )
