"""On-call and notifications: writes to escalation policies, their steps, and where they are attached
(services, team defaults).

Editing the steps of a policy that incidents are escalating on moves those escalations with it
(``notifications.escalation.edits``): replacing the steps continues each at the same position, or
at the end of its round when that position is gone (the remaining rounds still run); removing a step
keeps the next step by identity, or goes on with the one after it when the next step was removed;
appending one changes no position. See docs/paging.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications.escalation import edits
from notifications.models import (
    Channel,
    EscalationPolicy,
    EscalationStep,
    Schedule,
    ServiceEscalation,
    StepTarget,
    TargetKind,
    TeamEscalation,
)
from opsplatform.accounts.models import Membership, Team, User
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

MAX_STEPS = 20
MAX_TARGETS = 50
MAX_REPEAT = 9
MAX_DELAY_MINUTES = 24 * 60
_TARGET_MODELS = {
    TargetKind.USER: User,
    TargetKind.SCHEDULE: Schedule,
    TargetKind.TEAM: Team,
    TargetKind.CHANNEL: Channel,
}


@dataclass
class StepSpec:
    """One step as the pages and the API describe it: targets are (kind, object) pairs."""

    delay_minutes: int = 15
    round_robin: bool = False
    targets: list[tuple[str, object]] = field(default_factory=list)


def _validate_policy_fields(*, name: str, repeat_count: int) -> None:
    errors = {}
    if not (name or "").strip():
        errors["name"] = "A policy needs a name."
    if not isinstance(repeat_count, int) or not 0 <= repeat_count <= MAX_REPEAT:
        errors["repeat_count"] = f"Repeat between 0 and {MAX_REPEAT} times."
    if errors:
        raise ValidationError(errors)


def _check_target(actor: Actor, kind: str, obj, index: int) -> None:
    model = _TARGET_MODELS.get(kind)
    if model is None:
        raise ValidationError({f"steps.{index}.targets": f"Unknown target kind {kind!r}."})
    if not isinstance(obj, model):
        raise ValidationError({f"steps.{index}.targets": f"A {kind} target needs a {kind}."})
    org_id = actor.organization.pk
    if kind == TargetKind.USER:
        if not Membership.objects.filter(organization_id=org_id, user=obj).exists():
            raise ValidationError({f"steps.{index}.targets": f"{obj.username} is not a member."})
    elif obj.organization_id != org_id:
        raise ValidationError({f"steps.{index}.targets": "Not found."})


def _validate_steps(actor: Actor, steps: list[StepSpec]) -> None:
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": f"At most {MAX_STEPS} steps."})
    for index, spec in enumerate(steps):
        if not isinstance(spec.delay_minutes, int) or not 1 <= spec.delay_minutes <= MAX_DELAY_MINUTES:
            raise ValidationError(
                {f"steps.{index}.delay_minutes": f"Between 1 and {MAX_DELAY_MINUTES} minutes."}
            )
        if not spec.targets:
            raise ValidationError({f"steps.{index}.targets": "A step needs at least one target."})
        if len(spec.targets) > MAX_TARGETS:
            raise ValidationError({f"steps.{index}.targets": f"At most {MAX_TARGETS} targets."})
        for kind, obj in spec.targets:
            _check_target(actor, kind, obj, index)


def _write_steps(actor: Actor, policy: EscalationPolicy, steps: list[StepSpec]) -> None:
    policy.steps.all().delete()
    targets = []
    for position, spec in enumerate(steps):
        step = EscalationStep.objects.create(
            organization=actor.organization,
            policy=policy,
            position=position,
            delay_minutes=spec.delay_minutes,
            round_robin=spec.round_robin,
        )
        seen = set()
        for index, (kind, obj) in enumerate(spec.targets):
            if (kind, obj.pk) in seen:
                continue
            seen.add((kind, obj.pk))
            targets.append(
                StepTarget(
                    organization=actor.organization, step=step, position=index, kind=kind, **{kind: obj}
                )
            )
    StepTarget.objects.bulk_create(targets)


def describe_steps(steps: list[StepSpec]) -> list[dict]:
    return [
        {
            "delay_minutes": spec.delay_minutes,
            "round_robin": spec.round_robin,
            "targets": [f"{kind}:{getattr(obj, 'username', None) or obj.pk}" for kind, obj in spec.targets],
        }
        for spec in steps
    ]


@transaction.atomic
def policy_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    team: Team | None = None,
    repeat_count: int = 0,
    steps: list[StepSpec] | None = None,
) -> EscalationPolicy:
    actor.require(Capability.ESCALATION_MANAGE)
    _validate_policy_fields(name=name, repeat_count=repeat_count)
    name = name.strip()[:150]
    if team is not None and team.organization_id != actor.organization.pk:
        raise ValidationError({"team": "Not found."})
    if EscalationPolicy.objects.filter(organization=actor.organization, name__iexact=name).exists():
        raise ValidationError({"name": "A policy with this name already exists."})
    steps = list(steps or [])
    _validate_steps(actor, steps)
    policy = EscalationPolicy.objects.create(
        organization=actor.organization,
        name=name,
        description=description,
        team=team,
        repeat_count=repeat_count,
    )
    _write_steps(actor, policy, steps)
    record(
        actor=actor,
        verb="escalation_policy.created",
        target=policy,
        data={"name": name, "repeat_count": repeat_count, "steps": describe_steps(steps)},
    )
    return policy


@transaction.atomic
def policy_update(*, actor: Actor, policy: EscalationPolicy, steps: list[StepSpec] | None = None, **changes):
    """Change fields; ``steps`` (when given) replaces every step, resetting round-robin positions."""
    actor.require(Capability.ESCALATION_MANAGE)
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk, organization=actor.organization)
    unknown = set(changes) - {"name", "description", "team", "repeat_count"}
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()[:150]
        clash = EscalationPolicy.objects.filter(organization=actor.organization, name__iexact=changes["name"])
        if clash.exclude(pk=policy.pk).exists():
            raise ValidationError({"name": "A policy with this name already exists."})
    if changes.get("team") is not None and changes["team"].organization_id != actor.organization.pk:
        raise ValidationError({"team": "Not found."})
    _validate_policy_fields(
        name=changes.get("name", policy.name), repeat_count=changes.get("repeat_count", policy.repeat_count)
    )
    changed = {k: v for k, v in changes.items() if getattr(policy, k) != v}
    data = {"changes": {k: (v.pk if isinstance(v, Team) else v) for k, v in changed.items()}}
    if steps is not None:
        steps = list(steps)
        _validate_steps(actor, steps)
        before = policy.steps.count()
        _write_steps(actor, policy, steps)
        edits.reposition(policy, before, len(steps), edits.same_position)
        data["steps"] = describe_steps(steps)
    if not changed and steps is None:
        return policy
    for key, value in changed.items():
        setattr(policy, key, value)
    policy.updated_at = timezone.now()
    policy.save(update_fields=[*changed, "updated_at"])
    record(actor=actor, verb="escalation_policy.updated", target=policy, data=data)
    return policy


@transaction.atomic
def step_append(*, actor: Actor, policy: EscalationPolicy, spec: StepSpec) -> EscalationStep:
    actor.require(Capability.ESCALATION_MANAGE)
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk, organization=actor.organization)
    count = policy.steps.count()
    if count >= MAX_STEPS:
        raise ValidationError({"steps": f"At most {MAX_STEPS} steps."})
    _validate_steps(actor, [spec])
    step = EscalationStep.objects.create(
        organization=actor.organization,
        policy=policy,
        position=count,
        delay_minutes=spec.delay_minutes,
        round_robin=spec.round_robin,
    )
    StepTarget.objects.bulk_create(
        StepTarget(organization=actor.organization, step=step, position=index, kind=kind, **{kind: obj})
        for index, (kind, obj) in enumerate(dict.fromkeys(spec.targets, None))
    )
    edits.reposition(policy, count, count + 1, edits.same_position)
    policy.updated_at = timezone.now()
    policy.save(update_fields=["updated_at"])
    record(
        actor=actor,
        verb="escalation_policy.step_added",
        target=policy,
        data={"position": count + 1, **describe_steps([spec])[0]},
    )
    return step


@transaction.atomic
def step_remove(*, actor: Actor, step: EscalationStep) -> None:
    actor.require(Capability.ESCALATION_MANAGE)
    policy = EscalationPolicy.objects.select_for_update().get(
        pk=step.policy_id, organization=actor.organization
    )
    step = EscalationStep.objects.get(pk=step.pk, policy=policy)
    position = step.position
    before = policy.steps.count()
    step.delete()
    # Close the hole: positions stay 0..n-1, so the escalation tick's step index means the
    # same step.
    for later in policy.steps.filter(position__gt=position).order_by("position"):
        later.position -= 1
        later.save(update_fields=["position"])
    edits.reposition(policy, before, before - 1, edits.step_removed_at(position))
    policy.updated_at = timezone.now()
    policy.save(update_fields=["updated_at"])
    record(actor=actor, verb="escalation_policy.step_removed", target=policy, data={"position": position + 1})


@transaction.atomic
def policy_delete(*, actor: Actor, policy: EscalationPolicy) -> None:
    actor.require(Capability.ESCALATION_MANAGE)
    record(actor=actor, verb="escalation_policy.deleted", target=policy, data={"name": policy.name})
    policy.delete()


def _bind(link_model, field: str, objects, *, policy: EscalationPolicy, key: str) -> list[int]:
    """Make ``policy`` the one linked to exactly ``objects`` (services, or teams as their default);
    an object moves over from its old policy. Returns their ids, for the ledger."""
    objects = list(objects)
    if any(obj.organization_id != policy.organization_id for obj in objects):
        raise ValidationError({key: "Not found."})
    link_model.objects.filter(policy=policy).exclude(**{f"{field}__in": objects}).delete()
    for obj in objects:
        link_model.objects.update_or_create(
            **{field: obj}, defaults={"policy": policy, "organization_id": policy.organization_id}
        )
    return sorted(obj.pk for obj in objects)


@transaction.atomic
def policy_attach(
    *, actor: Actor, policy: EscalationPolicy, services=None, default_for_teams=None
) -> EscalationPolicy:
    """Make ``policy`` the policy of exactly ``services`` and the default of exactly ``default_for_teams``
    (each given list replaces the current one; a service or team moves over from its old policy)."""
    actor.require(Capability.ESCALATION_MANAGE)
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk, organization=actor.organization)
    data = {}
    if services is not None:
        data["services"] = _bind(ServiceEscalation, "service", services, policy=policy, key="services")
    if default_for_teams is not None:
        data["default_for_teams"] = _bind(
            TeamEscalation, "team", default_for_teams, policy=policy, key="default_for_teams"
        )
    if data:
        record(actor=actor, verb="escalation_policy.attached", target=policy, data=data)
    return policy
