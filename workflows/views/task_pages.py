"""``/tasks/``: the viewer's open tasks (and, on a tab, all open tasks), a form for a new one, and
status changes. Descriptions are Markdown, rendered sanitized."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from opsplatform.core.access import get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import first_error, submit
from workflows import selectors
from workflows.forms import TaskForm, TaskStatusForm
from workflows.models import ACTIVE_TASK_STATUSES
from workflows.services.task_items import task_create, task_update


@requires(Capability.WORKFLOW_VIEW, post=Capability.TASK_MANAGE)
def task_list(request):
    show_all = request.GET.get("show") == "all"
    form = TaskForm(request.POST or None, organization=request.organization)
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: task_create(actor=request.actor, **data),
            success="Task created.",
            redirect_to="workflows:tasks",
        )
        if done.response:
            return done.response
        status = done.status
    tasks = selectors.tasks_for_list(request.organization).filter(status__in=ACTIVE_TASK_STATUSES)
    if not show_all:
        tasks = tasks.filter(assignee=request.user)
    context = {"tasks": list(tasks.order_by("due_at", "id")[:200]), "form": form, "show_all": show_all}
    if request.htmx and request.GET.get("fragment") == "inner":
        return render(request, "workflows/_tasks_inner.html", context)
    return render(request, "workflows/tasks.html", context, status=status)


@require_POST
@requires(Capability.WORKFLOW_VIEW, post=Capability.TASK_MANAGE)
def task_status(request, pk):
    task = get_for_write_or_404(
        request, selectors.tasks_for_list(request.organization), Capability.TASK_MANAGE, pk=pk
    )
    form = TaskStatusForm(request.POST)
    if form.is_valid():
        try:
            task_update(actor=request.actor, task=task, status=form.cleaned_data["status"])
            messages.success(
                request, f"{task.title}: {dict(form.fields['status'].choices)[form.cleaned_data['status']]}."
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, first_error(exc) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.error(request, "Unknown status.")
    # Back where the button was: the task's run page, or the task list (never a URL from the form).
    if request.POST.get("next") == "run" and task.run_id:
        return redirect("workflows:run", task.run_id)
    return redirect("workflows:tasks")
