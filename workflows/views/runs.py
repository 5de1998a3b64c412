"""A run's page: its state, fields, approvals, tasks and timeline, and the actions the viewer may
take now (events they pass the guard of; approve/reject only for an approver who is not the
requester). Live: the page re-fetches its inner part on every event of this run."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import first_error
from workflows import diagram, guards, selectors
from workflows.forms import DecideForm, EventForm
from workflows.models import ApprovalStatus
from workflows.services.approvals import decide
from workflows.services.runs import transition


def _run(request, pk):
    return get_for_read_or_404(
        request, selectors.runs_for_list(request.organization), Capability.WORKFLOW_VIEW, pk=pk
    )


def may_decide(actor, approval) -> bool:
    """Show approve/reject: a pending request naming the viewer, not decided by them, not theirs."""
    user = actor.user
    if approval is None or approval.status != ApprovalStatus.PENDING or user is None:
        return False
    if user.pk == approval.requester_id or user.pk not in approval.approver_ids:
        return False
    if not actor.can(Capability.WORKFLOW_RUN, approval):
        return False
    return all(d.approver_id != user.pk for d in approval.decisions.all())


def _context(request, run):
    spec = run.spec
    approval = selectors.current_approval(run)
    events = [
        (
            t,
            EventForm(
                initial={"event": t.event},
                spec=spec,
                required=[k for k in t.required_fields if not run.fields.get(k)],
            ),
        )
        for t in guards.available(request.actor, run)
    ]
    return {
        "run": run,
        "spec": spec,
        "state": spec.state(run.state),
        "terminal": spec.is_terminal(run.state),
        "approval": approval,
        "may_decide": may_decide(request.actor, approval),
        "decide_form": DecideForm(),
        "events": events,
        "fields": [(spec.field_labels.get(k, k), v) for k, v in run.fields.items()],
        "tasks": run.tasks.select_related("assignee").order_by("due_at", "id"),
        "timeline": selectors.run_timeline(run),
        "svg": diagram.render(spec, current=run.state),
    }


@requires(Capability.WORKFLOW_VIEW)
def run_detail(request, pk):
    run = _run(request, pk)
    context = _context(request, run)
    if request.htmx and request.GET.get("fragment") == "inner":
        return render(request, "workflows/_run_inner.html", context)
    return render(request, "workflows/run.html", context)


def _refuse(request, exc) -> None:
    if isinstance(exc, PermissionDenied):
        messages.error(request, str(exc) or "You may not do that.")
    else:
        messages.error(request, first_error(exc))


@require_POST
@requires(Capability.WORKFLOW_VIEW, post=Capability.WORKFLOW_RUN)
def run_event(request, pk):
    run = _run(request, pk)
    chosen = run.spec.transition(run.state, request.POST.get("event", ""))
    required = chosen.required_fields if chosen else ()
    form = EventForm(request.POST, spec=run.spec, required=required)
    if not form.is_valid():
        messages.error(
            request, "Check the form: " + "; ".join(e for errs in form.errors.values() for e in errs)
        )
        return redirect("workflows:run", run.pk)
    try:
        transition(
            actor=request.actor,
            run=run,
            event=form.cleaned_data["event"],
            fields=form.values(),
            comment=form.cleaned_data["comment"],
        )
    except (ValidationError, PermissionDenied) as exc:
        _refuse(request, exc)
    else:
        messages.success(request, f"{chosen.label if chosen else 'Done'}.")
    return redirect("workflows:run", run.pk)


@require_POST
@requires(Capability.WORKFLOW_VIEW, post=Capability.WORKFLOW_RUN)
def run_decide(request, pk):
    run = _run(request, pk)
    form = DecideForm(request.POST)
    approval = selectors.current_approval(run)
    if not form.is_valid() or approval is None:
        messages.error(request, "Nothing to decide on this run.")
        return _back(request, run)
    try:
        decide(
            actor=request.actor,
            approval=approval,
            verdict=form.cleaned_data["verdict"],
            comment=form.cleaned_data["comment"],
        )
    except (ValidationError, PermissionDenied) as exc:
        _refuse(request, exc)
    else:
        verb = "Approved" if form.cleaned_data["verdict"] == "approve" else "Rejected"
        messages.success(request, f"{verb}: {run.title}.")
    return _back(request, run)


def _back(request, run):
    """To the inbox when the decision was made there, else to the run."""
    if request.POST.get("next") == "approvals":
        return redirect("workflows:approvals")
    return redirect("workflows:run", run.pk)
