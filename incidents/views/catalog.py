from django.shortcuts import render
from django.views.decorators.http import require_POST

from incidents import services
from incidents.forms.incidents import ServiceForm
from incidents.models import Integration, Service
from incidents.selectors import filter_incidents, incidents_for_list, service_overview, services_for_list
from incidents.views.pagination import counted_page, lookahead_page
from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit

SERVICES_PER_PAGE = 25
INCIDENTS_PER_PAGE = 25


@requires(Capability.SERVICE_VIEW)
def service_list(request):
    return render(
        request,
        "incidents/services.html",
        {
            "page": counted_page(
                services_for_list(request.organization), request.GET.get("page"), SERVICES_PER_PAGE
            ),
            "can_manage": request.actor.can(Capability.SERVICE_MANAGE),
        },
    )


def _service(request, pk) -> Service:
    return get_for_read_or_404(
        request, Service.objects.select_related("owner_team"), Capability.SERVICE_VIEW, pk=pk
    )


def _service_context(request, service, **extra) -> dict:
    return {
        "service": service,
        "can_manage": request.actor.can(Capability.SERVICE_MANAGE, service),
        "can_view_integrations": request.actor.can(Capability.INTEGRATION_VIEW),
        **extra,
    }


@requires(Capability.SERVICE_VIEW)
def service_detail(request, pk):
    service = _service(request, pk)
    return render(
        request,
        "incidents/service_detail.html",
        _service_context(request, service, overview=service_overview(service)),
    )


@requires(Capability.SERVICE_VIEW)
def service_incidents(request, pk):
    service = _service(request, pk)
    incidents = filter_incidents(incidents_for_list(request.organization), service=service)
    page = lookahead_page(incidents, request.GET.get("page"), INCIDENTS_PER_PAGE)
    return render(request, "incidents/service_incidents.html", _service_context(request, service, page=page))


@requires(Capability.SERVICE_VIEW)
def service_integrations(request, pk):
    service = _service(request, pk)
    integrations = Integration.objects.for_organization(request.organization).filter(service=service)
    page = counted_page(integrations.order_by("name"), request.GET.get("page"), SERVICES_PER_PAGE)
    return render(
        request, "incidents/service_integrations.html", _service_context(request, service, page=page)
    )


def _initial(service: Service) -> dict:
    return {
        "name": service.name,
        "description": service.description,
        "tier": service.tier,
        "owner_team": service.owner_team,
        "default_severity": service.default_severity,
        "in_maintenance": service.in_maintenance,
        "runbook_links": "\n".join(f"{link['title']} | {link['url']}" for link in service.runbook_links),
    }


def _service_form(request, service: Service | None):
    form = ServiceForm(
        request.POST or None,
        organization=request.organization,
        initial=_initial(service) if service else None,
    )
    if request.method == "POST":

        def call(data):
            if service is None:
                return services.service_create(actor=request.actor, **data)
            return services.service_update(actor=request.actor, service=service, **data)

        done = submit(
            request,
            form,
            call,
            success="",
            redirect_to=lambda saved: ("incidents:service_detail", saved.pk),
        )
        if done.ok:
            return done.response
    context = _service_context(request, service, form=form) if service else {"form": form, "service": None}
    return render(request, "incidents/service_form.html", context)


@requires(Capability.SERVICE_MANAGE)
def service_new(request):
    return _service_form(request, None)


@member_required
def service_edit(request, pk):
    # Object grants count: a member allowed to manage this one service may edit it.
    return _service_form(request, get_for_write_or_404(request, Service, Capability.SERVICE_MANAGE, pk=pk))


@require_POST
@member_required
def service_delete(request, pk):
    service = get_for_write_or_404(request, Service, Capability.SERVICE_MANAGE, pk=pk)
    return act(
        request,
        lambda: services.service_delete(actor=request.actor, service=service),
        success="",
        redirect_to="incidents:services",
    )
