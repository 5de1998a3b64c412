from django.urls import path

from opsplatform.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.analytics_page, name="index"),
    path("export/<slug:table>.csv", views.export_csv, name="export"),
    path("reports/<int:pk>/", views.report_status, name="report"),
]
