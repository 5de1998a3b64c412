"""Creating an integration (pick a kind, then that kind's form), its Settings tab, key rotation and
deletion."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from incidents.forms.integrations import KIND_HELP, IntegrationForm
from incidents.ingest import services
from incidents.models import IntegrationKind
from incidents.views.integrations.common import integration_for
from incidents.views.integrations.console import console_context, render_issued
from opsplatform.core.access import member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit
from opsplatform.core.ids import parse_id


def _kind_cards(service_id) -> list[dict]:
    suffix = f"&service={service_id}" if service_id else ""
    return [
        {"kind": value, "label": label, "help": KIND_HELP[value], "query": f"?kind={value}{suffix}"}
        for value, label in IntegrationKind.choices
    ]


@requires(Capability.INTEGRATION_MANAGE)
def integration_new(request):
    """No kind yet: the kind cards. A kind (``?kind=grafana``, or posted): that kind's form only."""
    kind = request.GET.get("kind") or request.POST.get("kind") or ""
    service_id = parse_id(request.GET.get("service", ""))
    if kind not in IntegrationKind.values:
        return render(
            request,
            "incidents/integrations/kind_picker.html",
            {"cards": _kind_cards(service_id), "unknown_kind": kind},
            status=400 if kind else 200,
        )
    form = IntegrationForm(
        request.POST or None,
        organization=request.organization,
        kind=kind,
        initial={"service": service_id} if service_id else None,
    )
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.integration_create(actor=request.actor, **form.service_values()),
            success="",
            redirect_to=None,  # the answer shows the new key once
        )
        if done.ok:
            return render_issued(request, done.result, "created")
        status = done.status
    return render(
        request,
        "incidents/integrations/form.html",
        {"form": form, "kind": kind, "kind_label": IntegrationKind(kind).label, "kind_help": KIND_HELP[kind]},
        status=status,
    )


@member_required
def integration_edit(request, pk):
    """The Settings tab: this kind's fields, the key and deletion."""
    integration = integration_for(request, pk, Capability.INTEGRATION_MANAGE)
    form = IntegrationForm(
        request.POST or None,
        organization=request.organization,
        integration=integration,
        initial=IntegrationForm.initial_for(integration),
    )
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.integration_update(
                actor=request.actor, integration=integration, **form.service_values()
            ),
            success="Integration saved.",
            redirect_to=("incidents:integration_edit", integration.pk),
        )
        if done.ok:
            return done.response
        status = done.status
    return render(
        request,
        "incidents/integrations/settings.html",
        console_context(request, integration, "settings", form=form),
        status=status,
    )


@require_POST
@member_required
def integration_rotate(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_MANAGE)
    raw = request.POST.get("overlap_hours", "")
    # Not a number: -1, which the service refuses with its own message.
    overlap = (-1 if (parsed := parse_id(raw)) is None else parsed) if raw else None
    try:
        issued = services.integration_rotate_key(
            actor=request.actor, integration=integration, overlap_hours=overlap
        )
    except ValidationError as exc:  # not act(): the answer to a rotation renders the new key
        messages.error(request, "; ".join(exc.messages))
        return redirect("incidents:integration_edit", pk=integration.pk)
    return render_issued(request, issued, "rotated")


@require_POST
@member_required
def integration_delete(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_MANAGE)
    return act(
        request,
        lambda: services.integration_delete(actor=request.actor, integration=integration),
        success=f"Integration “{integration.name}” deleted; its key no longer works.",
        redirect_to="incidents:integrations",
        refused_to=("incidents:integration_edit", integration.pk),
    )
