"""Who a gate's approvers (or its fallback) are at this moment: members of the run's organization.

Resolved once, when a run enters the gate, and stored on the request; later role changes or
hand-offs do not change a request already open (only the escalation adds its fallback).
"""

from datetime import timedelta

from django.utils import timezone

from notifications import oncall
from notifications.models import Schedule
from opsplatform.accounts.models import Membership, Team
from workflows.spec import People


def resolve(organization, people: People, *, at=None) -> set[int]:
    members = Membership.objects.filter(organization=organization)
    ids: set[int] = set()
    if people.users:
        ids |= set(members.filter(user_id__in=people.users).values_list("user_id", flat=True))
    if people.roles:
        ids |= set(members.filter(role__in=people.roles).values_list("user_id", flat=True))
    if people.teams:
        team_members = Team.members.through.objects.filter(
            team__organization=organization, team_id__in=people.teams
        ).values_list("user_id", flat=True)
        ids |= set(members.filter(user_id__in=team_members).values_list("user_id", flat=True))
    if people.schedules:
        at = at or timezone.now()
        for schedule in Schedule.objects.filter(
            organization=organization, pk__in=people.schedules
        ).select_related("team"):
            user_id = oncall.oncall_at(oncall.snapshot(schedule, at, at + timedelta(minutes=1)), at)
            if user_id is not None:
                ids.add(user_id)
        ids &= set(members.values_list("user_id", flat=True))
    # Deactivated people cannot sign in to decide.
    return set(members.filter(user_id__in=ids, user__is_active=True).values_list("user_id", flat=True))


def unknown_references(organization, people: People) -> list[str]:
    """The ids of ``people`` that are not in ``organization`` (a spec may name only its own)."""
    problems = []
    if people.users:
        known = set(
            Membership.objects.filter(organization=organization, user_id__in=people.users).values_list(
                "user_id", flat=True
            )
        )
        problems += [f"user {i}" for i in people.users if i not in known]
    if people.teams:
        known = set(
            Team.objects.filter(organization=organization, pk__in=people.teams).values_list("pk", flat=True)
        )
        problems += [f"team {i}" for i in people.teams if i not in known]
    if people.schedules:
        known = set(
            Schedule.objects.filter(organization=organization, pk__in=people.schedules).values_list(
                "pk", flat=True
            )
        )
        problems += [f"schedule {i}" for i in people.schedules if i not in known]
    return problems
