"""Team pages: list and create, detail, edit (fields and members together), delete."""

from django.db import transaction
from django.db.models import Count
from django.shortcuts import render

from opsplatform.accounts import services
from opsplatform.accounts.forms import TeamForm, TeamMembersForm
from opsplatform.accounts.models import Team
from opsplatform.accounts.views.helpers import organization_required, paginate
from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit

PAGE_SIZE = 50


@organization_required
@requires(Capability.TEAM_VIEW, post=Capability.TEAM_MANAGE)
def teams(request):
    form = TeamForm()
    if request.method == "POST":
        form = TeamForm(request.POST)
        done = submit(
            request,
            form,
            lambda data: services.team_create(actor=request.actor, **data),
            success=lambda team: f"Team “{team.name}” created.",
            redirect_to=lambda team: ("accounts:team_detail", team.pk),
        )
        if done.ok:
            return done.response
    teams = (
        Team.objects.for_organization(request.organization)
        .annotate(member_count=Count("members"))
        .order_by("name", "pk")
    )
    context = {
        "page": paginate(request, teams, PAGE_SIZE),
        "form": form,
        "can_manage": request.actor.can(Capability.TEAM_MANAGE),
    }
    return render(request, "accounts/teams.html", context)


@organization_required
def team_detail(request, pk):
    team = get_for_read_or_404(request, Team, Capability.TEAM_VIEW, pk=pk)
    context = {
        "team": team,
        "team_members": team.members.order_by("username"),
        "can_manage": request.actor.can(Capability.TEAM_MANAGE, team),
    }
    return render(request, "accounts/team_detail.html", context)


@organization_required
def team_edit(request, pk):
    team = get_for_write_or_404(request, Team, Capability.TEAM_MANAGE, pk=pk)
    form = TeamForm(initial={"name": team.name, "description": team.description, "time_zone": team.time_zone})
    members_form = TeamMembersForm(
        organization=request.organization, initial={"members": list(team.members.all())}
    )
    if request.method == "POST":
        form = TeamForm(request.POST)
        members_form = TeamMembersForm(request.POST, organization=request.organization)

        @transaction.atomic  # fields and members are one edit: both saved, or neither
        def save(data):
            services.team_update(actor=request.actor, team=team, **data)
            services.team_set_members(
                actor=request.actor, team=team, users=members_form.cleaned_data["members"]
            )

        done = submit(
            request,
            form,
            save,
            also=(members_form,),
            success="Team saved.",
            redirect_to=("accounts:team_detail", team.pk),
        )
        if done.ok:
            return done.response
    return render(
        request, "accounts/team_edit.html", {"team": team, "form": form, "members_form": members_form}
    )


@organization_required
def team_delete(request, pk):
    team = get_for_write_or_404(request, Team, Capability.TEAM_MANAGE, pk=pk)
    if request.method == "POST":
        return act(
            request,
            lambda: services.team_delete(actor=request.actor, team=team),
            success=f"Team “{team.name}” deleted.",
            redirect_to="accounts:teams",
        )
    return render(request, "accounts/team_delete.html", {"team": team})
