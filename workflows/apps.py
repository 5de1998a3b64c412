from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self):
        from incidents.api import detail_fields
        from workflows import signals  # noqa: F401  (connects the receivers)
        from workflows.contributions import incident_tasks, incident_workflow_runs

        detail_fields.register("workflow_runs", incident_workflow_runs)
        detail_fields.register("tasks", incident_tasks)
