from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from incidents import services
from incidents.forms import ServiceForm
from incidents.models import Service
from incidents.selectors import service_overview, services_for_list
from opsplatform.core.access import member_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.tenancy import get_in_organization_or_404


@member_required
def service_list(request):
    request.actor.require(Capability.SERVICE_VIEW)
    return render(
        request,
        "incidents/services.html",
        {
            "services": services_for_list(request.organization),
            "can_manage": request.actor.can(Capability.SERVICE_MANAGE),
        },
    )


@member_required
def service_detail(request, pk):
    request.actor.require(Capability.SERVICE_VIEW)
    service = get_in_organization_or_404(
        Service.objects.select_related("owner_team"), request.organization, pk=pk
    )
    return render(
        request,
        "incidents/service_detail.html",
        {
            "service": service,
            "overview": service_overview(service),
            "can_manage": request.actor.can(Capability.SERVICE_MANAGE, service),
        },
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


@member_required
def service_edit(request, pk=None):
    service = None
    if pk is not None:
        service = get_in_organization_or_404(Service, request.organization, pk=pk)
    request.actor.require(Capability.SERVICE_MANAGE, service)
    form = ServiceForm(
        request.POST or None,
        organization=request.organization,
        initial=_initial(service) if service else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if service is None:
                service = services.service_create(actor=request.actor, **data)
            else:
                service = services.service_update(actor=request.actor, service=service, **data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("incidents:service_detail", pk=service.pk)
    return render(request, "incidents/service_form.html", {"form": form, "service": service})


@require_POST
@member_required
def service_delete(request, pk):
    service = get_in_organization_or_404(Service, request.organization, pk=pk)
    services.service_delete(actor=request.actor, service=service)
    return redirect("incidents:services")
