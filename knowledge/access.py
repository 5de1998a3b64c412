"""Who may read and write a space.

Organization-wide spaces: every member with ``knowledge.view`` reads, ``knowledge.write`` writes.
Team spaces: the team's members (and managers up, who hold ``knowledge.manage``) read; those of them
with ``knowledge.write`` write. Private drafts: their owner alone. A space the actor may not read does
not exist for them (404); one they read but may not change is a 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from knowledge.models import Space, SpaceKind
from opsplatform.core.actors import Actor, ActorKind
from opsplatform.core.capabilities import Capability


def readable_spaces(actor: Actor) -> QuerySet[Space]:
    spaces = Space.objects.filter(organization=actor.organization)
    if actor.kind == ActorKind.SYSTEM:
        return spaces
    if actor.user is None or not actor.can(Capability.KNOWLEDGE_VIEW):
        return spaces.none()
    visible = Q(kind=SpaceKind.ORGANIZATION) | Q(kind=SpaceKind.PRIVATE, owner=actor.user)
    if actor.can(Capability.KNOWLEDGE_MANAGE):
        visible |= Q(kind=SpaceKind.TEAM)
    else:
        visible |= Q(kind=SpaceKind.TEAM, team__members=actor.user)
    return spaces.filter(visible).distinct()


def can_read(actor: Actor, space: Space) -> bool:
    if space.organization_id != getattr(actor.organization, "pk", None):
        return False
    if actor.kind == ActorKind.SYSTEM:
        return True
    if actor.user is None or not actor.can(Capability.KNOWLEDGE_VIEW):
        return False
    if space.kind == SpaceKind.PRIVATE:
        return space.owner_id == actor.user.pk
    if space.kind == SpaceKind.TEAM and not actor.can(Capability.KNOWLEDGE_MANAGE):
        return space.team.members.filter(pk=actor.user.pk).exists()
    return True


def can_write(actor: Actor, space: Space) -> bool:
    return can_read(actor, space) and actor.can(Capability.KNOWLEDGE_WRITE)


def require_read(actor: Actor, space: Space) -> None:
    if not can_read(actor, space):
        raise Http404("No article matches the given query.")


def require_write(actor: Actor, space: Space) -> None:
    require_read(actor, space)
    if not actor.can(Capability.KNOWLEDGE_WRITE):
        raise PermissionDenied(f"Missing capability {Capability.KNOWLEDGE_WRITE}.")
