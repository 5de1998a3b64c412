from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("monitors/", views.monitor_list, name="index"),
    path("monitors/bulk/", views.monitor_bulk, name="bulk"),
    path("monitors/<int:pk>/", views.monitor_detail, name="detail"),
    path("monitors/<int:pk>/<slug:action>/", views.monitor_action, name="action"),
]
