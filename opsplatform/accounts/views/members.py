"""Members and invitations of the current organization.

Everyone may see the list; inviting, changing roles and removing need their capabilities, and the
services refuse what the page would not offer (a forced POST gets 403).
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from opsplatform.accounts import services
from opsplatform.accounts.forms import InviteForm, RoleForm, roles_up_to
from opsplatform.accounts.models import Invitation, Membership
from opsplatform.accounts.views.helpers import attempt, is_htmx, organization_required, paginate
from opsplatform.core.access import get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability, Role
from opsplatform.core.forms import submit
from opsplatform.core.tenancy import get_in_organization_or_404

PAGE_SIZE = 50


def _may_manage(actor, membership) -> bool:
    if not actor.can(Capability.MEMBER_MANAGE):
        return False
    return membership.role != Role.OWNER or actor.can(Capability.MEMBER_MANAGE_OWNERS)


def _row_context(request, membership, error: str = "") -> dict:
    actor = request.actor
    return {
        "m": membership,
        "manageable": _may_manage(actor, membership),
        "role_choices": roles_up_to(actor.role),
        "is_self": membership.user_id == request.user.pk,
        "error": error,
    }


def _render_members(request, *, invite_form=None, issued=None, status=200):
    org = request.organization
    actor = request.actor
    can_invite = actor.can(Capability.MEMBER_INVITE)
    memberships = (
        Membership.objects.filter(organization=org).select_related("user").order_by("user__username", "pk")
    )
    page = paginate(request, memberships, PAGE_SIZE)
    rows = [_row_context(request, m) for m in page]
    invitations = (
        Invitation.objects.for_organization(org)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
        if can_invite
        else Invitation.objects.none()
    )
    context = {
        "page": page,
        "rows": rows,
        "invitations": invitations,
        "can_invite": can_invite,
        "invite_form": invite_form or InviteForm(actor_role=actor.role),
        "issued": issued,
        "invite_url": request.build_absolute_uri(issued.path) if issued else "",
    }
    response = render(request, "accounts/members.html", context, status=status)
    if issued is not None:
        response["Cache-Control"] = "no-store"
    return response


@never_cache
@organization_required
@requires(Capability.MEMBER_VIEW)
def members(request):
    return _render_members(request)


@require_POST
@organization_required
@requires(Capability.MEMBER_INVITE)
def member_invite(request):
    form = InviteForm(request.POST, actor_role=request.actor.role)
    done = submit(
        request,
        form,
        lambda data: services.invitation_create(actor=request.actor, **data),
        success="",
        redirect_to=None,  # the invitation link is shown on this response only
    )
    if done.ok:
        return _render_members(request, issued=done.result)
    return _render_members(request, invite_form=form)


def _row_outcome(request, membership, error: str, success: str):
    """An HTMX request gets its row back (with the refusal in place); a plain one a flash message."""
    if is_htmx(request):
        return render(request, "accounts/_member_row.html", _row_context(request, membership, error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect("accounts:members")


@require_POST
@organization_required
def member_role(request, pk):
    membership = get_for_write_or_404(
        request, Membership.objects.select_related("user"), Capability.MEMBER_MANAGE, pk=pk
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _row_outcome(request, membership, "Choose a valid role.", "")
    changed, error = attempt(
        lambda: services.membership_change_role(
            actor=request.actor, membership=membership, role=form.cleaned_data["role"]
        )
    )
    membership = changed or membership
    return _row_outcome(
        request, membership, error, f"{membership.user} is now {membership.get_role_display().lower()}."
    )


@require_POST
@organization_required
def member_remove(request, pk):
    membership = get_in_organization_or_404(
        Membership.objects.select_related("user"), request.organization, pk=pk
    )
    # Leaving needs no capability; removing someone else is checked by the service.
    _, error = attempt(lambda: services.membership_remove(actor=request.actor, membership=membership))
    if error:
        return _row_outcome(request, membership, error, "")
    if is_htmx(request):
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, f"{membership.user} was removed.")
    return redirect("accounts:members")


@require_POST
@organization_required
def invitation_revoke(request, pk):
    invitation = get_for_write_or_404(request, Invitation, Capability.MEMBER_INVITE, pk=pk)
    services.invitation_revoke(actor=request.actor, invitation=invitation)
    if is_htmx(request):
        return HttpResponse("")
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("accounts:members")
