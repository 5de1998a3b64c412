"""Teams: create, update, delete, and set their members (each one a member of the organization)."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction

from opsplatform.accounts.models import Membership, Organization, Team
from opsplatform.accounts.services.slugs import unique_slug
from opsplatform.core import ledger
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.core.changes import apply_changes, refuse_unknown

_TEAM_FIELDS = {"name", "description", "time_zone"}


def _validate_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError({"time_zone": f"Unknown time zone {name!r}."}) from exc


@transaction.atomic
def team_create(
    *, actor: Actor, name: str, description: str = "", time_zone: str = "UTC", slug: str = ""
) -> Team:
    """``slug`` defaults to one made from the name (see ``unique_slug``): any name in any script works."""
    actor.require(Capability.TEAM_MANAGE)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    # One team creation at a time per organization: the name check and the slug choice below
    # would otherwise race into a duplicate or the unique constraint (a server error).
    Organization.objects.select_for_update().filter(pk=actor.organization.pk).first()
    teams = Team.objects.filter(organization=actor.organization)
    if teams.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A team with this name already exists."})
    if slug and teams.filter(slug=slug).exists():
        raise ValidationError({"slug": "A team with this slug already exists."})
    slug = slug or unique_slug(name, queryset=teams, fallback="team")
    _validate_time_zone(time_zone)
    team = Team(
        organization=actor.organization, name=name, slug=slug, description=description, time_zone=time_zone
    )
    team.full_clean()
    team.save()
    ledger.record(actor=actor, verb="team.created", target=team, data={"name": name})
    return team


@transaction.atomic
def team_update(*, actor: Actor, team: Team, **changes) -> Team:
    actor.require(Capability.TEAM_MANAGE, team)
    team = Team.objects.select_for_update().get(pk=team.pk)
    refuse_unknown(changes, _TEAM_FIELDS)
    if "time_zone" in changes:
        _validate_time_zone(changes["time_zone"])
    changed = apply_changes(team, changes)
    if not changed:
        return team
    team.full_clean()
    team.save(update_fields=list(changed))
    ledger.record(actor=actor, verb="team.updated", target=team, data={"changes": changed})
    return team


@transaction.atomic
def team_delete(*, actor: Actor, team: Team) -> None:
    actor.require(Capability.TEAM_MANAGE, team)
    ledger.record(actor=actor, verb="team.deleted", target=team, data={"name": team.name})
    team.delete()


@transaction.atomic
def team_set_members(*, actor: Actor, team: Team, users) -> Team:
    actor.require(Capability.TEAM_MANAGE, team)
    users = list(users)
    member_ids = set(
        Membership.objects.filter(organization=team.organization, user__in=users).values_list(
            "user_id", flat=True
        )
    )
    outsiders = [u.username for u in users if u.pk not in member_ids]
    if outsiders:
        raise ValidationError({"members": f"Not members of this organization: {', '.join(outsiders)}."})
    before = set(team.members.values_list("username", flat=True))
    team.members.set(users)
    after = {u.username for u in users}
    if before != after:
        ledger.record(
            actor=actor,
            verb="team.members_changed",
            target=team,
            data={"added": sorted(after - before), "removed": sorted(before - after)},
        )
    return team
