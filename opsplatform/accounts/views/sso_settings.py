"""The organization's single sign-on settings: its providers (admins) and "SSO required" (owners)."""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from opsplatform.accounts.forms import IdentityProviderForm
from opsplatform.accounts.models import IdentityProvider
from opsplatform.accounts.sso import providers
from opsplatform.accounts.views.helpers import organization_required
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit
from opsplatform.core.tenancy import get_in_organization_or_404


def _save(request, provider, data):
    if provider is None:
        return providers.identity_provider_create(
            actor=request.actor, organization=request.organization, **data
        )
    if not data.get("client_secret"):
        data.pop("client_secret", None)
    return providers.identity_provider_update(actor=request.actor, provider=provider, **data)


@organization_required
@requires(Capability.ORGANIZATION_MANAGE)
def sso_settings(request, pk: int | None = None):
    provider = get_in_organization_or_404(IdentityProvider, request.organization, pk=pk) if pk else None
    initial = None
    if provider is not None:
        initial = {name: getattr(provider, name) for name in providers.FIELDS - {"client_secret"}}
        initial["allowed_domains"] = " ".join(provider.allowed_domains)
    form = IdentityProviderForm(request.POST or None, initial=initial)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: _save(request, provider, data),
            success="Identity provider saved.",
            redirect_to="accounts:sso_settings",
        )
        if done.ok:
            return done.response
    context = {
        "form": form,
        "provider": provider,
        "providers": IdentityProvider.objects.filter(organization=request.organization),
        "redirect_uri": settings.SITE_URL + reverse("accounts:sso_callback"),
        "can_require": request.actor.can(Capability.MEMBER_MANAGE_OWNERS),
    }
    return render(request, "accounts/sso_settings.html", context, status=400 if form.errors else 200)


@organization_required
@requires(Capability.MEMBER_MANAGE_OWNERS)
def sso_required_toggle(request):
    required = request.POST.get("required") == "1"
    return act(
        request,
        lambda: providers.organization_set_sso_required(
            actor=request.actor, organization=request.organization, required=required
        ),
        success="Single sign-on is now required." if required else "Single sign-on is now optional.",
        redirect_to="accounts:sso_settings",
    )
