from django.urls import path

from workflows.automation import views

app_name = "automation"

urlpatterns = [
    path("automation/", views.rule_list, name="index"),
    path("automation/new/", views.rule_new, name="new"),
    path("automation/<int:pk>/", views.rule_detail, name="rule"),
    path("automation/<int:pk>/edit/", views.rule_edit, name="edit"),
    path("automation/<int:pk>/delete/", views.rule_delete, name="delete"),
    path("automation/<int:pk>/backtest/", views.rule_backtest, name="backtest"),
    path("automation/incidents/<int:pk>/executions/", views.incident_executions, name="incident_executions"),
]
