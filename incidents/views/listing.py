from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from incidents import services
from incidents.forms.incidents import IncidentCreateForm, IncidentFilterForm, page_filter_data
from incidents.models import Incident
from incidents.selectors import filter_incidents, incidents_for_list, status_counts
from incidents.views.pagination import lookahead_page
from opsplatform.core.access import member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit
from opsplatform.core.ids import parse_id

PAGE_SIZE = 50
REGION = "incident-region"


def _list_context(request):
    org = request.organization
    form = IncidentFilterForm(page_filter_data(request.GET), organization=org)
    if form.is_valid():
        incidents = filter_incidents(incidents_for_list(org), **form.filters())
    else:
        incidents = Incident.objects.none()
    page = lookahead_page(incidents, request.GET.get("page"), PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    everything = query.copy()
    everything.setlist("status", [""])
    return {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "refresh_query": request.GET.urlencode(),
        "empty": _empty_state(request, form, page),
        "counts": status_counts(org),
        "can_act": request.actor.can(Capability.INCIDENT_ACKNOWLEDGE),
        "can_create": request.actor.can(Capability.INCIDENT_CREATE),
        "create_form": IncidentCreateForm(organization=org),
        # The "All" preset: a status in the URL with nothing ticked.
        "all_statuses": "status" in request.GET and not any(request.GET.getlist("status")),
        "all_query": everything.urlencode(),
    }


def _empty_state(request, form, page) -> dict | None:
    """What an empty list says depends on why it is empty."""
    if page.object_list:
        return None
    if page.number > 1:
        first = request.GET.copy()
        first.pop("page", None)
        return {
            "title": "No more incidents",
            "text": "This page is past the end of the list.",
            "url": "?" + first.urlencode(),
            "label": "First page",
        }
    if not form.is_valid():
        return {
            "title": "These filters are not valid",
            "text": "Fix or clear them.",
            "url": "?",
            "label": "Clear",
        }
    filtered = any(
        value for key, values in request.GET.lists() if key not in ("status", "sort") for value in values
    )
    if not filtered and not Incident.objects.for_organization(request.organization).exists():
        return {
            "title": "No incidents yet",
            "text": "Incidents open when an integration receives an alert, or when someone opens one.",
            "url": reverse("incidents:integrations")
            if request.actor.can(Capability.INTEGRATION_VIEW)
            else "",
            "label": "Connect an alert source",
        }
    if not filtered and "status" not in request.GET:
        return {
            "title": "All clear",
            "text": "Nothing is triggered, acknowledged or snoozed right now.",
            "url": "?status=",
            "label": "Show resolved incidents too",
        }
    return {
        "title": "No incidents match these filters",
        "text": "Try fewer filters, or start again from the open incidents.",
        "url": "?",
        "label": "Clear filters",
    }


@requires(Capability.INCIDENT_VIEW)
def incident_list(request):
    # ``fragment`` picks the markup, it is not a filter: the pagination links must not carry it.
    fragment = request.GET.get("fragment") if request.htmx else None
    if "fragment" in request.GET:
        request.GET = request.GET.copy()
        request.GET.pop("fragment")
    context = _list_context(request)
    region = request.htmx and request.htmx.target == REGION and not request.htmx.history_restore_request
    if fragment in ("region", "inner") or region:  # a new filter, or a live refresh
        response = render(request, "incidents/_list_region.html", context)
    else:
        response = render(request, "incidents/list.html", context)
    # One URL, two answers (the page, the region): without this, Back can show a cached region
    # fetched by a live refresh as if it were the page.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


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
