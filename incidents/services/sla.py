from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from incidents.models import SLAPolicy
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

FIELDS = [
    "name",
    "service",
    "severity",
    "ack_target_minutes",
    "resolve_target_minutes",
    "calendar",
    "business_start",
    "business_end",
    "business_days",
    "time_zone",
    "warning_percent",
    "pause_while_snoozed",
]


def _snapshot(policy: SLAPolicy) -> dict:
    return {f: getattr(policy, f"{f}_id") if f == "service" else getattr(policy, f) for f in FIELDS}


@transaction.atomic
def sla_policy_save(*, actor: Actor, policy: SLAPolicy) -> SLAPolicy:
    """Create or update (``policy`` is an unsaved or changed instance); targets apply to new incidents."""
    actor.require(Capability.SLA_MANAGE)
    if policy.organization_id != actor.organization.pk:
        raise ValidationError({"organization": "Not found."})
    if policy.service_id and policy.service.organization_id != policy.organization_id:
        raise ValidationError({"service": "Not found."})
    creating = policy.pk is None
    policy.full_clean()
    policy.save()
    record(
        actor=actor,
        verb="sla_policy.created" if creating else "sla_policy.updated",
        target=policy,
        data=_snapshot(policy),
    )
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: Actor, policy: SLAPolicy) -> None:
    actor.require(Capability.SLA_MANAGE)
    record(actor=actor, verb="sla_policy.deleted", target=policy, data={"name": policy.name})
    policy.delete()
