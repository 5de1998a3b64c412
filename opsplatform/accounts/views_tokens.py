"""API token pages: everyone manages their own tokens; ``token.manage`` sees the organization's."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from opsplatform.accounts import services
from opsplatform.accounts.forms import TokenCreateForm
from opsplatform.accounts.models import ApiToken
from opsplatform.accounts.views import is_htmx, organization_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import add_service_errors, first_error
from opsplatform.core.tenancy import get_in_organization_or_404


def _visible_tokens(request):
    tokens = ApiToken.objects.for_organization(request.organization).select_related("user")
    if not request.actor.can(Capability.TOKEN_MANAGE):
        tokens = tokens.filter(user=request.user)
    return tokens.order_by("-created_at")


@never_cache
@organization_required
def tokens(request):
    actor = request.actor
    actor.require(Capability.TOKEN_CREATE)
    form = TokenCreateForm(request.POST or None, actor_role=actor.role)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_token_create(
                actor=actor,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = TokenCreateForm(actor_role=actor.role)
    context = {
        "form": form,
        "issued": issued,
        "tokens": _visible_tokens(request),
        "manage_all": actor.can(Capability.TOKEN_MANAGE),
    }
    response = render(request, "accounts/tokens.html", context)
    if issued is not None:
        response["Cache-Control"] = "no-store"  # the secret is in this page, and only in this page
    return response


@require_POST
@organization_required
def token_revoke(request, pk):
    token = get_in_organization_or_404(ApiToken.objects.select_related("user"), request.organization, pk=pk)
    error = ""
    try:
        token = services.api_token_revoke(actor=request.actor, token=token)
    except ValidationError as exc:
        error = first_error(exc)
    if is_htmx(request):
        context = {"token": token, "manage_all": request.actor.can(Capability.TOKEN_MANAGE), "error": error}
        return render(request, "accounts/_token_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:tokens")
