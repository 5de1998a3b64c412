"""The service page's on-call card (`{% load service_oncall %}{% service_oncall_card service %}`).

The service page lives in incidents, which sits below notifications and cannot ask who is paged;
this tag, rendered from the page's template, answers it from here: the service's escalation policy
(its own, else its owner team's default) and who its first step reaches right now.
"""

from __future__ import annotations

from django import template

from notifications.models import EscalationPolicy, ServiceEscalation, TargetKind, TeamEscalation
from notifications.selectors import oncall_summaries, policy_with_steps
from opsplatform.core.capabilities import Capability

register = template.Library()


def _policy_for(service) -> tuple[EscalationPolicy | None, str]:
    link = ServiceEscalation.objects.filter(service=service).values_list("policy_id", flat=True).first()
    origin = "service"
    if link is None and service.owner_team_id:
        link = TeamEscalation.objects.filter(team_id=service.owner_team_id).values_list(
            "policy_id", flat=True
        )
        link, origin = link.first(), "team"
    if link is None:
        return None, ""
    policy = policy_with_steps(EscalationPolicy.objects.filter(pk=link)).first()
    return policy, origin


def _reached(step) -> list[dict]:
    """Each target of a step and the people it reaches now."""
    schedules = [t.schedule for t in step.targets.all() if t.kind == TargetKind.SCHEDULE]
    oncall = {s.schedule.pk: s.current_user for s in oncall_summaries(schedules)}
    rows = []
    for target in step.targets.all():
        if target.kind == TargetKind.USER:
            rows.append({"target": target, "people": [target.user]})
        elif target.kind == TargetKind.SCHEDULE:
            person = oncall.get(target.schedule_id)
            rows.append({"target": target, "people": [person] if person else [], "gap": person is None})
        elif target.kind == TargetKind.TEAM:
            rows.append({"target": target, "people": list(target.team.members.order_by("username"))})
        else:
            rows.append({"target": target, "people": []})
    return rows


@register.inclusion_tag("notifications/_service_oncall.html", takes_context=True)
def service_oncall_card(context, service):
    request = context.get("request")
    policy, origin = _policy_for(service)
    steps = list(policy.steps.all()) if policy else []
    actor = getattr(request, "actor", None)
    return {
        "service": service,
        "policy": policy,
        "origin": origin,
        "first": _reached(steps[0]) if steps else [],
        "first_step": steps[0] if steps else None,
        "later_steps": steps[1:],
        "viewer": getattr(request, "user", None),
        "can_view_policies": actor is not None and actor.can(Capability.TEAM_VIEW),
        "can_manage": actor is not None and actor.can(Capability.ESCALATION_MANAGE),
    }
