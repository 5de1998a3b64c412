"""On-call and notifications: what an edit of a policy's steps does to the escalations running on it.

An incident's position is ``escalation_step`` (the index of the next step to run) in round
``escalation_cycle``; past the last step by one means "the round is over" (the tick starts the next
round or records the policy exhausted), past it by more means someone pressed "escalate now" after
the policy ran out (the tick pages the last step once). Positions are indexes, so an edit that moves
steps must move the positions of the incidents escalating on the policy, in the same transaction:

* Steps replaced (no step keeps its identity): the escalation goes on at the same position, with the
  step now there. Past the new end it is the end of the round: the remaining rounds still run.
* One step removed: the next step keeps its identity (positions after the removed one move down by
  one); when the removed step was the next one, the step after it is next.
* A step appended: nothing moves; a round not yet over runs it.

The lock order is the policy's, then its incidents' (the escalation tick locks incidents with SKIP
LOCKED and never the policy, so it skips these for the length of the edit, and never deadlocks).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from incidents.models import Incident, Status
from notifications.escalation.targets import BatchReads
from notifications.models import EscalationPolicy, ServiceEscalation, TeamEscalation

# (next index, round, steps before, steps after) -> (next index, round)
Remap = Callable[[int, int, int, int], tuple[int, int]]


def _running_on(policy: EscalationPolicy) -> list[Incident]:
    """Incidents escalating on ``policy`` now (triggered, with a timer), locked."""
    services = ServiceEscalation.objects.filter(policy=policy).values("service_id")
    teams = TeamEscalation.objects.filter(policy=policy).values("team_id")
    candidates = list(
        Incident.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(organization_id=policy.organization_id, status=Status.TRIGGERED)
        .exclude(next_escalation_at=None)
        .filter(Q(service_id__in=services) | Q(team_id__in=teams) | Q(service__owner_team_id__in=teams))
        .order_by("pk")
    )
    reads = BatchReads(now=None)
    reads.preload(candidates)
    return [i for i in candidates if (plan := reads.plan_for(i)) is not None and plan.policy.pk == policy.pk]


def reposition(policy: EscalationPolicy, before: int, after: int, remap: Remap) -> None:
    """Move the running escalations of ``policy`` from its ``before`` steps to its ``after`` steps."""
    for incident in _running_on(policy):
        index, cycle = incident.escalation_step, incident.escalation_cycle
        if index > before:
            # "Escalate now" after the policy ran out: it stays that.
            new_index, new_cycle = after + 1, cycle
        else:
            new_index, new_cycle = remap(index, cycle, before, after)
        if new_index == 0 and new_cycle > 0:
            # Stored, (0, round > 0) is what a reopen leaves (the tick never stores it): say "the
            # previous round is over" instead, which the tick continues the same way.
            new_index, new_cycle = after, new_cycle - 1
        if (new_index, new_cycle) != (index, cycle):
            Incident.objects.filter(pk=incident.pk).update(
                escalation_step=new_index, escalation_cycle=new_cycle
            )


def same_position(index: int, cycle: int, before: int, after: int) -> tuple[int, int]:
    return min(index, after), cycle


def step_removed_at(position: int) -> Remap:
    def remap(index: int, cycle: int, before: int, after: int) -> tuple[int, int]:
        return (index - 1 if position < index else index), cycle

    return remap
