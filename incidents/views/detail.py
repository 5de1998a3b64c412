from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from incidents import services
from incidents.forms import incidents as forms
from incidents.models import Incident
from incidents.selectors import incident_timeline, incidents_for_list, related_incidents
from incidents.services.lifecycle import DedupKeyHeld
from incidents.state import allowed_actions
from incidents.views.alert_facts import alert_facts
from incidents.views.timeline import folded_timeline
from opsplatform.core.access import member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.tenancy import get_in_organization_or_404


def _incident(request, pk) -> Incident:
    return get_in_organization_or_404(incidents_for_list(request.organization), request.organization, pk=pk)


def _detail_context(request, incident, error=""):
    actor = request.actor
    org = request.organization
    return {
        "incident": incident,
        "timeline": folded_timeline(incident_timeline(incident)),
        "alerts": incident.alerts.order_by("-last_seen_at")[:50],
        "facts": alert_facts(incident),
        "related": related_incidents(incident),
        "allowed": allowed_actions(incident.status),
        "can_act": actor.can(Capability.INCIDENT_ACKNOWLEDGE, incident),
        "can_resolve": actor.can(Capability.INCIDENT_RESOLVE, incident),
        "can_manage": actor.can(Capability.INCIDENT_MANAGE, incident),
        "can_open_integrations": actor.can(Capability.INTEGRATION_VIEW),
        "resolve_form": forms.ResolveForm(),
        "snooze_form": forms.SnoozeForm(),
        "note_form": forms.NoteForm(),
        "fields_form": forms.FieldsForm(
            initial={"severity": incident.severity, "priority": incident.priority}
        ),
        "assign_form": forms.PeopleForm(
            organization=org, prefix="assign", initial={"users": list(incident.assignees.all())}
        ),
        "responders_form": forms.PeopleForm(organization=org, prefix="responders"),
        "merge_form": forms.MergeForm(organization=org, target=incident),
        "error": error,
    }


@requires(Capability.INCIDENT_VIEW)
def incident_detail(request, pk):
    incident = _incident(request, pk)
    context = _detail_context(request, incident)
    fragment = request.GET.get("fragment")
    if request.htmx and fragment == "inner":
        return render(request, "incidents/_detail_inner.html", context)
    return render(request, "incidents/detail.html", context)


def _people(form):
    return form.cleaned_data["users"]


# action name → (form factory, service call). Each call raises ValidationError for bad input
# or a refused transition and PermissionDenied for a missing capability.
ACTIONS = {
    "acknowledge": (None, lambda a, i, f: services.incident_acknowledge(actor=a, incident=i)),
    "resolve": (
        forms.ResolveForm,
        lambda a, i, f: services.incident_resolve(actor=a, incident=i, note=f.cleaned_data["note"]),
    ),
    "snooze": (
        forms.SnoozeForm,
        lambda a, i, f: services.incident_snooze(actor=a, incident=i, until=f.until()),
    ),
    "reopen": (None, lambda a, i, f: services.incident_reopen(actor=a, incident=i)),
    "escalate": (None, lambda a, i, f: services.incident_escalate(actor=a, incident=i)),
    "note": (
        forms.NoteForm,
        lambda a, i, f: services.incident_add_note(actor=a, incident=i, body=f.cleaned_data["body"]),
    ),
    "fields": (
        forms.FieldsForm,
        lambda a, i, f: services.incident_update(actor=a, incident=i, **f.cleaned_data),
    ),
    "assign": (
        forms.PeopleForm,
        lambda a, i, f: services.incident_reassign(actor=a, incident=i, assignees=_people(f)),
    ),
    "responders": (
        forms.PeopleForm,
        lambda a, i, f: services.incident_add_responders(actor=a, incident=i, responders=_people(f)),
    ),
    "merge": (
        forms.MergeForm,
        lambda a, i, f: services.incident_merge(actor=a, target=i, source=f.cleaned_data["source"]),
    ),
}


def _bind(form_class, request, incident, action):
    if form_class is None:
        return None
    if form_class is forms.PeopleForm:
        return form_class(request.POST, organization=request.organization, prefix=action)
    if form_class is forms.MergeForm:
        return form_class(request.POST, organization=request.organization, target=incident)
    return form_class(request.POST)


def _errors_text(errors) -> str:
    return "; ".join(str(message) for messages_ in errors.values() for message in messages_)


@require_POST
@member_required
def incident_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("Unknown action.")
    incident = _incident(request, pk)
    form_class, call = ACTIONS[action]
    form = _bind(form_class, request, incident, action)
    error = ""
    if form is not None and not form.is_valid():
        error = _errors_text(form.errors)
    else:
        try:
            call(request.actor, incident, form)
        except DedupKeyHeld as exc:
            holder_url = reverse("incidents:detail", args=[exc.holder.pk])
            error = format_html('{} <a href="{}">Open #{}</a>', exc.messages[0], holder_url, exc.holder.pk)
        except ValidationError as exc:
            error = "; ".join(exc.messages)
    if request.htmx:
        return render(
            request, "incidents/_detail_inner.html", _detail_context(request, _incident(request, pk), error)
        )
    if error:
        messages.error(request, error)
    return redirect("incidents:detail", pk=pk)
