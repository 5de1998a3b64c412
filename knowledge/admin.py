"""The knowledge base in the admin, for managers, scoped to their organizations.

Rows are read-only: articles are written on their pages and through the API, where every save is a
revision based on the one its writer saw. The search language changes through the settings service
(which validates it and re-indexes the organization's articles).
"""

from django.contrib import admin

from knowledge.models import Article, ArticleRevision, Attachment, KnowledgeSettings, Space
from knowledge.services.spaces import knowledge_settings_update
from opsplatform.accounts.admin import ServiceErrorsAsMessages
from opsplatform.accounts.admin_scoping import ActionsOnlyScopedAdmin, admin_actor, managed_organization_ids


class _ActionsAdmin(ServiceErrorsAsMessages, ActionsOnlyScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or []) or [f.name for f in self.model._meta.fields]


@admin.register(Space)
class SpaceAdmin(_ActionsAdmin):
    list_display = ["name", "kind", "team", "organization", "created_at"]
    list_filter = ["organization", "kind"]
    search_fields = ["name"]


@admin.register(Article)
class ArticleAdmin(_ActionsAdmin):
    list_display = ["title", "space", "organization", "is_runbook", "updated_at", "updated_by"]
    list_filter = ["organization"]
    search_fields = ["title"]

    @admin.display(boolean=True)
    def is_runbook(self, article):
        return article.is_runbook


@admin.register(Attachment)
class AttachmentAdmin(_ActionsAdmin):
    list_display = ["name", "article", "content_type", "size", "organization", "created_at"]
    list_filter = ["organization", "content_type"]


@admin.register(KnowledgeSettings)
class KnowledgeSettingsAdmin(_ActionsAdmin):
    list_display = ["organization", "search_config"]
    list_filter = ["organization"]
    actions = ["search_english", "search_german", "search_simple"]

    def _set(self, request, queryset, config):
        for row in queryset.select_related("organization"):
            self.run_service(
                request,
                lambda r=row: knowledge_settings_update(
                    actor=admin_actor(request, r.organization), search_config=config
                ),
            )

    @admin.action(description="Search in English (stemming)")
    def search_english(self, request, queryset):
        self._set(request, queryset, "english")

    @admin.action(description="Search in German (stemming)")
    def search_german(self, request, queryset):
        self._set(request, queryset, "german")

    @admin.action(description="Search without stemming (any language)")
    def search_simple(self, request, queryset):
        self._set(request, queryset, "simple")


# Revisions are shown on the article's history page; the admin lists them for audit only.
@admin.register(ArticleRevision)
class ArticleRevisionAdmin(admin.ModelAdmin):
    list_display = ["article", "number", "author", "message", "created_at"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("article")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(article__organization_id__in=managed_organization_ids(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
