from django.urls import path

from workflows.views import approvals, definitions, incident_work, runs, task_pages

app_name = "workflows"

urlpatterns = [
    path("workflows/", definitions.index, name="index"),
    path("workflows/<int:pk>/", definitions.definition_detail, name="definition"),
    path("workflows/<int:pk>/edit/", definitions.definition_edit, name="definition_edit"),
    path("workflows/runs/<int:pk>/", runs.run_detail, name="run"),
    path("workflows/runs/<int:pk>/event/", runs.run_event, name="run_event"),
    path("workflows/runs/<int:pk>/decide/", runs.run_decide, name="run_decide"),
    path("approvals/", approvals.inbox, name="approvals"),
    path("approvals/link/<str:token>/", approvals.approval_link, name="approval-link"),
    path("tasks/", task_pages.task_list, name="tasks"),
    path("tasks/<int:pk>/status/", task_pages.task_status, name="task_status"),
    path("workflows/incidents/<int:pk>/", incident_work.incident_work, name="incident_work"),
]
