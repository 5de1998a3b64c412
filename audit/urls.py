from django.urls import path

from audit import views, views_export

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("export.csv", views_export.audit_export, name="export"),
]
