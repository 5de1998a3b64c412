from django.urls import path

from knowledge.views import incidents, pages, runbooks

app_name = "knowledge"

urlpatterns = [
    path("knowledge/", pages.index, name="index"),
    path("knowledge/new/", pages.article_edit, name="new"),
    path("knowledge/preview/", pages.preview, name="preview"),
    path("knowledge/articles/<int:pk>/", pages.article_detail, name="article"),
    path("knowledge/articles/<int:pk>/edit/", pages.article_edit, name="edit"),
    path("knowledge/articles/<int:pk>/saved-banner/", pages.saved_banner, name="saved_banner"),
    path("knowledge/articles/<int:pk>/history/", pages.history, name="history"),
    path("knowledge/articles/<int:pk>/diff/", pages.diff, name="diff"),
    path("knowledge/articles/<int:pk>/restore/", pages.restore, name="restore"),
    path("knowledge/articles/<int:pk>/reviewed/", runbooks.runbook_reviewed, name="runbook_reviewed"),
    path("knowledge/articles/<int:pk>/attachments/", pages.attachment_upload, name="attachment_upload"),
    path(
        "knowledge/articles/<int:pk>/attachments/<int:attachment_id>/",
        pages.attachment_download,
        name="attachment",
    ),
    path(
        "knowledge/incidents/<int:incident_id>/runbooks/",
        incidents.incident_runbooks,
        name="incident_runbooks",
    ),
]
