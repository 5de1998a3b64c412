"""Maintenance windows: the list (state, services, filter by service in the URL), creation in a
dialog or on its own page, the detail with what a window suppressed, and deletion."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from incidents.forms.integrations import MaintenanceFilterForm, MaintenanceWindowForm
from incidents.ingest import services
from incidents.ingest.maintenance import is_active, next_occurrence
from incidents.models import Alert, MaintenanceWindow
from incidents.views.integrations.common import PAGE_SIZE
from incidents.views.pagination import lookahead_page
from opsplatform.core.access import get_for_write_or_404, member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit
from opsplatform.core.ids import parse_id

RECENTLY_SUPPRESSED = 10
SUPPRESSED_SHOWN = 100


def window_state(window: MaintenanceWindow, now) -> dict:
    """Active, upcoming (with its next occurrence) or ended; a disabled window is off."""
    if not window.enabled:
        return {"state": "off", "label": "Off", "css": ""}
    if is_active(window, now):
        return {
            "state": "active",
            "label": "Active",
            "css": "warn",
            "until": (next_occurrence(window, now) or (None, None))[1],
        }
    upcoming = next_occurrence(window, now)
    if upcoming is not None:
        return {
            "state": "upcoming",
            "label": "Upcoming",
            "css": "ok",
            "starts": upcoming[0],
            "ends": upcoming[1],
        }
    return {"state": "ended", "label": "Ended", "css": "", "ended": window.ends_at}


def _create(request, form):
    return submit(
        request,
        form,
        lambda data: services.maintenance_window_create(actor=request.actor, **form.service_values()),
        success="Maintenance window created.",
        redirect_to=lambda window: ("incidents:maintenance_detail", window.pk),
    )


def _new_form(request):
    service_id = parse_id(request.GET.get("service", ""))
    return MaintenanceWindowForm(
        request.POST or None,
        organization=request.organization,
        initial={"service": service_id} if service_id else None,
    )


@requires(Capability.INTEGRATION_VIEW, post=Capability.INTEGRATION_MANAGE)
def maintenance_list(request):
    form = _new_form(request)
    status = 200
    if request.method == "POST":
        done = _create(request, form)
        if done.ok:
            return done.response
        status = done.status
    filters = MaintenanceFilterForm(request.GET, organization=request.organization)
    windows = filters.filter(
        MaintenanceWindow.objects.for_organization(request.organization).select_related("service")
    ).order_by("-created_at", "-pk")
    page = lookahead_page(windows, request.GET.get("page"), PAGE_SIZE)
    now = timezone.now()
    return render(
        request,
        "incidents/integrations/maintenance_list.html",
        {
            "rows": [{"window": window, **window_state(window, now)} for window in page.object_list],
            "page": page,
            "filters": filters,
            "filtered": filters.active or page.number > 1,
            "form": form,
            "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
            "suppressed": Alert.objects.for_organization(request.organization)
            .filter(suppressed=True)
            .select_related("suppressed_window", "integration")
            .order_by("-last_seen_at")[:RECENTLY_SUPPRESSED],
        },
        status=status,
    )


@requires(Capability.INTEGRATION_MANAGE)
def maintenance_new(request):
    """The page behind "New maintenance window" (the list opens it as a dialog when it can)."""
    form = _new_form(request)
    status = 200
    if request.method == "POST":
        done = _create(request, form)
        if done.ok:
            return done.response
        status = done.status
    return render(
        request, "incidents/integrations/maintenance_form.html", {"form": form, "window": None}, status=status
    )


def _window(request, pk, capability: str) -> MaintenanceWindow:
    return get_for_write_or_404(
        request, MaintenanceWindow.objects.select_related("service"), capability, pk=pk
    )


@requires(Capability.INTEGRATION_VIEW, post=Capability.INTEGRATION_MANAGE)
def maintenance_detail(request, pk):
    window = _window(request, pk, Capability.INTEGRATION_VIEW)
    form = MaintenanceWindowForm(
        request.POST or None,
        organization=request.organization,
        initial=MaintenanceWindowForm.initial_for(window),
    )
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.maintenance_window_update(
                actor=request.actor, window=window, **form.service_values()
            ),
            success="Maintenance window saved.",
            redirect_to=("incidents:maintenance_detail", window.pk),
        )
        if done.ok:
            return done.response
        status = done.status
    now = timezone.now()
    return render(
        request,
        "incidents/integrations/maintenance_detail.html",
        {
            "window": window,
            **window_state(window, now),
            "form": form,
            # Without script the form is drawn on the page (?edit=1, or with errors to show).
            "editing": bool(form.errors) or request.GET.get("edit") == "1",
            "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
            "suppressed": Alert.objects.filter(suppressed_window=window)
            .select_related("integration")
            .order_by("-last_seen_at")[:SUPPRESSED_SHOWN],
        },
        status=status,
    )


@require_POST
@member_required
def maintenance_delete(request, pk):
    window = _window(request, pk, Capability.INTEGRATION_MANAGE)
    return act(
        request,
        lambda: services.maintenance_window_delete(actor=request.actor, window=window),
        success=f"Maintenance window “{window.name}” deleted.",
        redirect_to="incidents:maintenance",
        refused_to=("incidents:maintenance_detail", window.pk),
    )
