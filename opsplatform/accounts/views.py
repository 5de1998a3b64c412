"""The dashboard shell, the organization switcher, and helpers the other account pages share."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY
from opsplatform.accounts.models import Membership, Team
from opsplatform.core.capabilities import Capability


def safe_next_url(request) -> str:
    """The ``next`` parameter if it points back into this site, else an empty string."""
    candidate = (request.POST.get("next") or request.GET.get("next") or "").strip()
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def organization_required(view):
    """Signed in and working in an organization; people without one are sent to the dashboard."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.organization is None:
            messages.info(request, "You are not a member of any organization yet.")
            return redirect("accounts:dashboard")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


@login_required
def dashboard(request):
    org = request.organization
    context = {}
    if org is not None:
        context = {
            "team_count": Team.objects.for_organization(org).count(),
            "member_count": Membership.objects.filter(organization=org).count(),
            "can_view_audit": request.actor.can(Capability.AUDIT_VIEW),
            "can_manage_members": request.actor.can(Capability.MEMBER_INVITE),
        }
    return render(request, "accounts/dashboard.html", context)


@require_POST
@login_required
def switch_organization(request):
    wanted = request.POST.get("organization", "").strip()
    # Only organizations the person belongs to; anything else looks like it does not exist.
    membership = next((m for m in request.memberships if str(m.organization_id) == wanted), None)
    if membership is None:
        raise Http404("No such organization.")
    request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    return redirect(safe_next_url(request) or "accounts:dashboard")
