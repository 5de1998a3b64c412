"""The incident page's workflow card (an htmx partial the incident page loads, as it does the
knowledge app's runbooks): the incident's runs and tasks, and ticking a task done from there.

Incidents never import workflows: the incident page only names this URL; the API's incident detail
gets the same data through ``incidents.api.detail_fields`` (``workflows.contributions``)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from incidents.models import Incident
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import first_error
from opsplatform.core.ids import parse_id
from workflows import selectors
from workflows.services.task_items import task_complete


def _card(request, incident, *, error="", status=200):
    runs, tasks = selectors.incident_work(request.organization, incident)
    context = {
        "incident": incident,
        "runs": runs,
        "tasks": tasks,
        "may_tick": request.actor.can(Capability.TASK_MANAGE),
        "error": error,
    }
    return render(request, "workflows/_incident_work.html", context, status=status)


@requires(Capability.WORKFLOW_VIEW, post=Capability.TASK_MANAGE)
def incident_work(request, pk):
    incident = get_for_read_or_404(request, Incident.objects.all(), Capability.INCIDENT_VIEW, pk=pk)
    if request.method != "POST":
        return _card(request, incident)
    task_id = parse_id(request.POST.get("task") or "")
    _, tasks = selectors.incident_work(request.organization, incident)
    task = next((t for t in tasks if t.pk == task_id), None)
    if task is None:
        return HttpResponseBadRequest("No such task on this incident.")
    try:
        task_complete(actor=request.actor, task=task)
    except ValidationError as exc:
        return _card(request, incident, error=first_error(exc), status=400)
    except PermissionDenied as exc:
        return _card(request, incident, error=str(exc) or "You may not change this task.", status=403)
    return _card(request, incident)
