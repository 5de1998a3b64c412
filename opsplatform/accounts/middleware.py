import zoneinfo

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device

from opsplatform.accounts.selectors import memberships_of
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role

SESSION_ORGANIZATION_KEY = "organization_id"


class CurrentOrganizationMiddleware:
    """Resolve the organization a signed-in person is working in (chosen in the page header)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        request.memberships = []
        request.actor = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(memberships_of(user))
            wanted = request.session.get(SESSION_ORGANIZATION_KEY)
            current = next((m for m in memberships if m.organization_id == wanted), None)
            current = current or (memberships[0] if memberships else None)
            request.memberships = memberships
            if current is not None:
                request.membership = current
                request.organization = current.organization
            request.actor = Actor.for_member(
                user, request.organization, role=current.role if current else None
            )
            # Pages show times in the reader's own zone (profile setting); the API stays in UTC.
            zone = None if request.path.startswith("/api/") else _zone(user.time_zone)
            if zone is not None:
                timezone.activate(zone)
                try:
                    return self.get_response(request)
                finally:
                    timezone.deactivate()
        return self.get_response(request)


def _zone(name: str):
    if not name or name == "UTC":
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def two_factor_required(user, memberships) -> bool:
    """Owners and admins of an organization whose policy demands it must use a second factor."""
    return any(
        m.organization.require_2fa_for_admins and m.role in (Role.OWNER, Role.ADMIN) for m in memberships
    )


class TwoFactorGateMiddleware:
    """Until a session has passed its second factor, only the 2FA pages and logout are reachable.

    A password alone logs the user in (so django-otp can attach the device); this gate keeps that
    half-authenticated session away from every page and API endpoint.
    """

    EXEMPT_PREFIXES = ("/static/", "/healthz", "/accounts/logout/", "/accounts/2fa/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(self.EXEMPT_PREFIXES):
            return self.get_response(request)
        if user.is_verified():
            return self.get_response(request)
        if user_has_device(user, confirmed=True):
            return self._block(request, "accounts:two_factor_verify", "Two-factor verification required.")
        if two_factor_required(user, request.memberships):
            return self._block(request, "accounts:two_factor_setup", "Two-factor enrollment required.")
        return self.get_response(request)

    @staticmethod
    def _block(request, url_name: str, detail: str):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": detail},
                status=403,
                content_type="application/problem+json",
            )
        target = reverse(url_name)
        if request.htmx:
            response = JsonResponse({}, status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(f"{target}?next={request.get_full_path()}")
