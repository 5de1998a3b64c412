"""Team pages: list and create, detail, edit (fields and members together), delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect, render

from opsplatform.accounts import services
from opsplatform.accounts.forms import TeamForm, TeamMembersForm
from opsplatform.accounts.models import Team
from opsplatform.accounts.views import organization_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import add_service_errors
from opsplatform.core.tenancy import get_in_organization_or_404


def _team_or_404(request, pk) -> Team:
    return get_in_organization_or_404(Team, request.organization, pk=pk)


@organization_required
def teams(request):
    actor = request.actor
    actor.require(Capability.TEAM_VIEW)
    form = TeamForm()
    if request.method == "POST":
        actor.require(Capability.TEAM_MANAGE)
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = services.team_create(actor=actor, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Team “{team.name}” created.")
                return redirect("accounts:team_detail", pk=team.pk)
    context = {
        "teams": Team.objects.for_organization(request.organization).annotate(member_count=Count("members")),
        "form": form,
        "can_manage": actor.can(Capability.TEAM_MANAGE),
    }
    return render(request, "accounts/teams.html", context)


@organization_required
def team_detail(request, pk):
    team = _team_or_404(request, pk)
    request.actor.require(Capability.TEAM_VIEW, team)
    context = {
        "team": team,
        "team_members": team.members.order_by("username"),
        "can_manage": request.actor.can(Capability.TEAM_MANAGE, team),
    }
    return render(request, "accounts/team_detail.html", context)


@organization_required
def team_edit(request, pk):
    team = _team_or_404(request, pk)
    actor = request.actor
    actor.require(Capability.TEAM_MANAGE, team)
    form = TeamForm(initial={"name": team.name, "description": team.description, "time_zone": team.time_zone})
    members_form = TeamMembersForm(
        organization=request.organization, initial={"members": list(team.members.all())}
    )
    if request.method == "POST":
        form = TeamForm(request.POST)
        members_form = TeamMembersForm(request.POST, organization=request.organization)
        if form.is_valid() and members_form.is_valid():
            try:
                # Fields and members are one edit: both saved, or neither.
                with transaction.atomic():
                    services.team_update(actor=actor, team=team, **form.cleaned_data)
                    services.team_set_members(
                        actor=actor, team=team, users=members_form.cleaned_data["members"]
                    )
            except ValidationError as exc:
                add_service_errors(form, exc, also=(members_form,))
            else:
                messages.success(request, "Team saved.")
                return redirect("accounts:team_detail", pk=team.pk)
    return render(
        request, "accounts/team_edit.html", {"team": team, "form": form, "members_form": members_form}
    )


@organization_required
def team_delete(request, pk):
    team = _team_or_404(request, pk)
    request.actor.require(Capability.TEAM_MANAGE, team)
    if request.method == "POST":
        services.team_delete(actor=request.actor, team=team)
        messages.success(request, f"Team “{team.name}” deleted.")
        return redirect("accounts:teams")
    return render(request, "accounts/team_delete.html", {"team": team})
