"""What the workflows app adds to other apps' responses (registered in ``WorkflowsConfig.ready``):
the incident detail's ``workflow_runs`` and ``tasks`` (see ``incidents.api.detail_fields``)."""

from django.urls import reverse

from opsplatform.api.authentication import request_actor
from opsplatform.core.capabilities import Capability
from workflows import selectors


def _work(incident, request):
    actor = request_actor(request) if request is not None else None
    if actor is None or not actor.can(Capability.WORKFLOW_VIEW):
        return [], []
    return selectors.incident_work(incident.organization, incident)


def incident_workflow_runs(incident, request) -> list[dict]:
    runs, _ = _work(incident, request)
    return [
        {
            "id": run.pk,
            "title": run.title,
            "workflow": run.definition.key,
            "state": run.state,
            "url": reverse("workflows:run", args=[run.pk]),
        }
        for run in runs
    ]


def incident_tasks(incident, request) -> list[dict]:
    _, tasks = _work(incident, request)
    return [
        {
            "id": task.pk,
            "title": task.title,
            "status": task.status,
            "assignee": task.assignee_id,
            "due_at": task.due_at,
            "run": task.run_id,
        }
        for task in tasks
    ]
