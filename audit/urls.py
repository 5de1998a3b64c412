from django.urls import path

from audit import views, views_export, views_retention

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("export.csv", views_export.audit_export, name="export"),
    path("retention/", views_retention.retention, name="retention"),
    path("archived/", views_retention.archived, name="archived"),
]
