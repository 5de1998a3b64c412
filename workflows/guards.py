"""Whether an actor may send a transition's event: the capability and the role its guard names.

One function answers both the services (which refuse) and the pages and API (which show only the
events the viewer may send now).
"""

from opsplatform.core import capabilities as caps
from opsplatform.core.actors import ActorKind


def may_send(actor, transition, run=None) -> bool:
    if transition.gate is not None:
        return False  # a gate's outcome is decided by its approvers, never sent as an event
    if not actor.can(transition.capability, run):
        return False
    if transition.role and actor.kind != ActorKind.SYSTEM:
        return caps.role_rank(actor.role) >= caps.ROLE_RANK[transition.role]
    return True


def available(actor, run) -> list:
    """The transitions out of the run's state the actor may send (none from a terminal state)."""
    return [t for t in run.spec.outgoing(run.state) if may_send(actor, t, run)]
