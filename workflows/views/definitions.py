"""``/workflows/``: the definitions and a board of runs by state; a definition's page with its
state machine diagram, its versions and the form that starts a run; the definition editor."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit
from workflows import diagram, editor, selectors
from workflows.forms import RunStartForm
from workflows.services.definitions import definition_update, latest_version
from workflows.services.runs import run_create

BOARD_LIMIT = 50  # runs per column; the API lists them all


def _board(organization, definition=None):
    """Columns of the board: one per state (in the spec's order) of the chosen workflow."""
    runs = selectors.runs_for_list(organization)
    if definition is None:
        return []
    spec = latest_version(definition).parsed
    runs = list(runs.filter(version__definition=definition).order_by("-updated_at")[:500])
    columns = []
    for state in spec.states:
        in_state = [r for r in runs if r.state == state.key]
        columns.append({"state": state, "runs": in_state[:BOARD_LIMIT], "count": len(in_state)})
    return columns


@requires(Capability.WORKFLOW_VIEW)
def index(request):
    definitions = list(selectors.definitions_for_list(request.organization))
    chosen = request.GET.get("workflow")
    current = next((d for d in definitions if str(d.pk) == chosen), None) or (
        definitions[0] if definitions else None
    )
    context = {
        "definitions": definitions,
        "current": current,
        "columns": _board(request.organization, current),
    }
    if request.htmx and request.GET.get("fragment") == "board":
        return render(request, "workflows/_board.html", context)
    return render(request, "workflows/index.html", context)


@requires(Capability.WORKFLOW_VIEW, post=Capability.WORKFLOW_RUN)
def definition_detail(request, pk):
    definition = get_for_read_or_404(
        request, selectors.definitions_for_list(request.organization), Capability.WORKFLOW_VIEW, pk=pk
    )
    version = latest_version(definition)
    spec = version.parsed
    form = RunStartForm(request.POST or None, spec=spec)
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: run_create(
                actor=request.actor, definition=definition, title=data["title"], fields=form.values()
            ),
            success="Run started.",
            redirect_to=lambda run: ("workflows:run", run.pk),
        )
        if done.response:
            return done.response
        status = done.status
    context = {
        "definition": definition,
        "version": version,
        "versions": definition.versions.order_by("-number"),
        "spec": spec,
        "svg": diagram.render(spec),
        "form": form,
    }
    return render(request, "workflows/definition.html", context, status=status)


@requires(Capability.WORKFLOW_MANAGE, post=Capability.WORKFLOW_MANAGE)
def definition_edit(request, pk):
    """The editor: rows of states and transitions with their guards; saving publishes the next
    version (runs keep theirs). An invalid machine answers 400 with its problems, nothing published."""
    definition = get_for_write_or_404(
        request, selectors.definitions_for_list(request.organization), Capability.WORKFLOW_MANAGE, pk=pk
    )
    version = latest_version(definition)
    status, problems = 200, []
    if request.method == "POST":
        states = editor.StateRows(request.POST, prefix="states")
        transitions = editor.TransitionRows(request.POST, prefix="transitions")
        extras = editor.SpecExtras(request.POST, prefix="extras")
        if all([states.is_valid(), transitions.is_valid(), extras.is_valid()]):
            spec = editor.spec_from(states, transitions, extras)
            try:
                updated = definition_update(actor=request.actor, definition=definition, spec=spec)
            except ValidationError as exc:
                problems = exc.messages
            else:
                published = latest_version(updated)
                if published.number == version.number:
                    messages.info(request, f"Nothing changed: version {version.number} stays current.")
                else:
                    messages.success(request, f"Published version {published.number}.")
                return redirect("workflows:definition", definition.pk)
        status = 400
    else:
        state_rows, transition_rows, extra_values = editor.initial_rows(version.spec)
        states = editor.StateRows(initial=state_rows, prefix="states")
        transitions = editor.TransitionRows(initial=transition_rows, prefix="transitions")
        extras = editor.SpecExtras(initial=extra_values, prefix="extras")
    context = {
        "definition": definition,
        "version": version,
        "states": states,
        "transitions": transitions,
        "extras": extras,
        "problems": problems,
        "svg": diagram.render(version.parsed),
    }
    return render(request, "workflows/definition_edit.html", context, status=status)
