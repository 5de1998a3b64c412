"""API token pages: everyone manages their own tokens; ``token.manage`` sees the organization's."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from opsplatform.accounts import services
from opsplatform.accounts.forms import TokenCreateForm
from opsplatform.accounts.models import ApiToken
from opsplatform.accounts.views.helpers import attempt, is_htmx, organization_required, paginate
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import submit
from opsplatform.core.tenancy import get_in_organization_or_404

PAGE_SIZE = 50


def _visible_tokens(request):
    tokens = ApiToken.objects.for_organization(request.organization).select_related("user")
    if not request.actor.can(Capability.TOKEN_MANAGE):
        tokens = tokens.filter(user=request.user)
    return tokens.order_by("-created_at", "-pk")


@never_cache
@organization_required
@requires(Capability.TOKEN_CREATE)
def tokens(request):
    actor = request.actor
    form = TokenCreateForm(request.POST or None, actor_role=actor.role)
    issued = None
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.api_token_create(
                actor=actor, name=data["name"], role=data["role"], expires_at=form.expires_at()
            ),
            success="",
            redirect_to=None,  # the secret is shown on this response only
        )
        if done.ok:
            issued = done.result
            form = TokenCreateForm(actor_role=actor.role)
    context = {
        "form": form,
        "issued": issued,
        "page": paginate(request, _visible_tokens(request), PAGE_SIZE),
        "manage_all": actor.can(Capability.TOKEN_MANAGE),
    }
    response = render(request, "accounts/tokens.html", context)
    if issued is not None:
        response["Cache-Control"] = "no-store"  # the secret is in this page, and only in this page
    return response


@require_POST
@organization_required
def token_revoke(request, pk):
    # Revoking your own token needs nothing more; another's needs token.manage (the service checks).
    token = get_in_organization_or_404(ApiToken.objects.select_related("user"), request.organization, pk=pk)
    revoked, error = attempt(lambda: services.api_token_revoke(actor=request.actor, token=token))
    token = revoked or token
    if is_htmx(request):
        context = {"token": token, "manage_all": request.actor.can(Capability.TOKEN_MANAGE), "error": error}
        return render(request, "accounts/_token_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:tokens")
