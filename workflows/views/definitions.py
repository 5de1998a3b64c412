"""``/workflows/``: the definitions and a board of runs by state; a definition's page with its
state machine diagram, its versions and the form that starts a run."""

from django.shortcuts import render

from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit
from workflows import diagram, selectors
from workflows.forms import RunStartForm
from workflows.services.definitions import latest_version
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
