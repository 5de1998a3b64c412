"""Single sign-on pages: choose the organization, go to its provider, come back signed in.

Every failure is a page that says what went wrong (4xx, or 502 when the provider is unreachable),
never a 500; refusals are written to the organization's ledger.
"""

import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY
from opsplatform.accounts.models import IdentityProvider, Organization
from opsplatform.accounts.sso import SsoError, oidc, provisioning
from opsplatform.accounts.sso.providers import client_secret
from opsplatform.accounts.views.auth import after_first_factor, log_in
from opsplatform.core.crypto import DecryptionError

FLOW_KEY = "sso_flow"
EXPIRED = "This sign-in expired or was started in another browser. Start again."


def _redirect_uri() -> str:
    return settings.SITE_URL + reverse("accounts:sso_callback")


def _error(request, message: str, *, status: int = 400):
    return render(request, "accounts/sso_error.html", {"message": message}, status=status)


@never_cache
def sso_start(request):
    slug = (request.GET.get("organization") or "").strip().lower()
    if slug:
        return redirect("accounts:sso_organization", slug[:80])
    return render(request, "accounts/sso_start.html")


@never_cache
def sso_organization(request, org_slug: str):
    organization = Organization.objects.filter(slug=org_slug).first()
    providers = (
        list(IdentityProvider.objects.filter(organization=organization, enabled=True)) if organization else []
    )
    if not providers:
        return _error(
            request,
            "This organization has no single sign-on. Check its name, or sign in another way.",
            status=404,
        )
    return render(
        request, "accounts/sso_organization.html", {"organization": organization, "providers": providers}
    )


@never_cache
def sso_begin(request, org_slug: str, provider_slug: str):
    provider = (
        IdentityProvider.objects.filter(organization__slug=org_slug, slug=provider_slug, enabled=True)
        .select_related("organization")
        .first()
    )
    if provider is None:
        return _error(request, "This sign-in option does not exist or is turned off.", status=404)
    try:
        url, flow = oidc.begin(provider, redirect_uri=_redirect_uri())
    except SsoError as exc:
        return _error(request, exc.message, status=exc.status)
    request.session[FLOW_KEY] = flow.as_session()
    return redirect(url)


@never_cache
def sso_callback(request):
    flow = oidc.Flow.from_session(request.session.pop(FLOW_KEY, None) or {})
    if flow is None or time.time() - flow.started_at > settings.SSO_FLOW_MAX_SECONDS:
        return _error(request, EXPIRED)
    provider = (
        IdentityProvider.objects.filter(pk=flow.provider_id, enabled=True)
        .select_related("organization")
        .first()
    )
    if provider is None:
        return _error(request, "This sign-in option was turned off. Ask your administrator.", status=404)
    ip = get_client_ip_address(request) or ""
    try:
        user, how = _complete(request, provider, flow, ip)
    except SsoError as exc:
        return _error(request, exc.message, status=exc.status)
    if request.user.is_authenticated and request.user.pk != user.pk:
        auth_logout(request)
    log_in(
        request=request,
        user=user,
        backend="django.contrib.auth.backends.ModelBackend",
        method="sso",
        extra={"provider": provider.pk, "organization": provider.organization_id, "found_by": how},
    )
    request.session[SESSION_ORGANIZATION_KEY] = provider.organization_id
    return after_first_factor(user, "")


def _complete(request, provider, flow, ip):
    if request.GET.get("error"):
        # The person cancelled, or the provider refused them: its own words are not shown (they may
        # carry anything), only that it said no.
        raise provisioning.refuse(
            provider=provider,
            reason=f"provider_error:{request.GET['error'][:40]}",
            message="The identity provider did not let you sign in.",
            ip=ip,
        ) from None
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    if not state or state != flow.state or not code:
        raise provisioning.refuse(
            provider=provider, reason="bad_state", message=EXPIRED, status=400, ip=ip
        ) from None
    try:
        secret = client_secret(provider)
    except DecryptionError:
        raise SsoError(
            "secret_unreadable", "This sign-in option is misconfigured. Ask your administrator.", status=502
        ) from None
    try:
        id_token = oidc.exchange_code(
            provider, flow=flow, code=code, redirect_uri=_redirect_uri(), client_secret=secret
        )
        claims = oidc.verify_id_token(provider, id_token=id_token, nonce=flow.nonce)
    except SsoError as exc:
        provisioning.refuse(provider=provider, reason=exc.reason, ip=ip)
        raise
    return provisioning.sign_in(provider=provider, claims=claims, ip=ip)
