"""The organization's settings page: everyone may read it, ``organization.manage`` changes it."""

from django.shortcuts import render

from opsplatform.accounts import services
from opsplatform.accounts.forms import OrganizationForm
from opsplatform.accounts.views.helpers import organization_required
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit


@organization_required
@requires(Capability.ORGANIZATION_VIEW, post=Capability.ORGANIZATION_MANAGE)
def organization_settings(request):
    org = request.organization
    form = OrganizationForm(
        initial={
            "name": org.name,
            "time_zone": org.time_zone,
            "require_2fa_for_admins": org.require_2fa_for_admins,
        }
    )
    if request.method == "POST":
        form = OrganizationForm(request.POST)
        done = submit(
            request,
            form,
            lambda data: services.organization_update(actor=request.actor, organization=org, **data),
            success="Organization settings saved.",
            redirect_to="accounts:organization_settings",
        )
        if done.ok:
            return done.response
    context = {"form": form, "can_manage": request.actor.can(Capability.ORGANIZATION_MANAGE)}
    return render(request, "accounts/organization_settings.html", context)
