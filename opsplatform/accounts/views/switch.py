"""The organization switcher."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY
from opsplatform.accounts.views.helpers import safe_next_url


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
