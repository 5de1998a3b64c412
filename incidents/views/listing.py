from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from incidents import services
from incidents.forms.incidents import IncidentCreateForm, IncidentFilterForm
from incidents.models import Incident, Severity, Status
from incidents.selectors import filter_incidents, incidents_for_list, status_counts
from incidents.views.pagination import lookahead_page
from opsplatform.core.access import member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit
from opsplatform.core.ids import parse_id

PAGE_SIZE = 50


def _list_context(request):
    org = request.organization
    form = IncidentFilterForm(request.GET, organization=org)
    if form.is_valid():
        incidents = filter_incidents(incidents_for_list(org), **form.filters())
    else:
        incidents = Incident.objects.none()
    page = lookahead_page(incidents, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("fragment", None)
    return {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "counts": status_counts(org),
        "can_act": request.actor.can(Capability.INCIDENT_ACKNOWLEDGE),
        "can_create": request.actor.can(Capability.INCIDENT_CREATE),
        "statuses": Status,
        "severities": Severity,
    }


@requires(Capability.INCIDENT_VIEW)
def incident_list(request):
    context = _list_context(request)
    fragment = request.GET.get("fragment") if request.htmx else None
    if fragment == "region":  # a new filter: the region with its new refresh URL
        return render(request, "incidents/_list_region.html", context)
    if fragment == "inner":  # a live refresh of the current view
        return render(request, "incidents/_list_inner.html", context)
    return render(request, "incidents/list.html", context)


BULK_ACTIONS = {
    "acknowledge": lambda actor, incident: services.incident_acknowledge(actor=actor, incident=incident),
    "resolve": lambda actor, incident: services.incident_resolve(actor=actor, incident=incident),
}


@require_POST
@member_required
def incident_bulk(request):
    action = BULK_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Choose acknowledge or resolve.")
        return _back_to_list(request)
    # Anything that is not an id is ignored, like an unknown id: the answer names what was done.
    ids = [pk for pk in map(parse_id, request.POST.getlist("ids")) if pk is not None][:500]
    done, refused = 0, []
    incidents = Incident.objects.for_organization(request.organization).filter(pk__in=ids)
    for incident in incidents:
        try:
            action(request.actor, incident)
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            refused.append(f"#{incident.pk}: {exc.messages[0] if hasattr(exc, 'messages') else exc}")
    if done:
        messages.success(request, f"{request.POST['action'].capitalize()}d {done} incident(s).")
    for line in refused[:10]:
        messages.error(request, line)
    if not ids:
        messages.warning(request, "Select incidents first.")
    return _back_to_list(request)


def _back_to_list(request):
    """Back to the list the form was posted from (its filters kept), and only ever to a page of
    this site: ``back`` is client input, and "//evil.example/incidents/" starts with a slash too."""
    back = request.POST.get("back", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts=None, require_https=request.is_secure())
    return redirect(back if safe and back.startswith("/incidents/") else "incidents:list")


@requires(Capability.INCIDENT_CREATE)
def incident_new(request):
    form = IncidentCreateForm(request.POST or None, organization=request.organization)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.incident_create(actor=request.actor, **data),
            success="",
            redirect_to=lambda incident: ("incidents:detail", incident.pk),
        )
        if done.ok:
            return done.response
    return render(request, "incidents/new.html", {"form": form})
