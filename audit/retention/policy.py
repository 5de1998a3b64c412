"""Which retention applies: the deployment's default for a kind, or the organization's override
within the deployment's bounds. Changing an override is a service like any other write."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import RetentionOverride
from audit.retention.registry import BY_KEY, DataKind, Limits
from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability


def limits_of(kind: DataKind | str) -> Limits:
    key = kind if isinstance(kind, str) else kind.key
    return settings.RETENTION[key]


def overrides_of(organization_id: int | None) -> dict[str, int]:
    if organization_id is None:
        return {}
    return dict(RetentionOverride.objects.filter(organization_id=organization_id).values_list("kind", "days"))


def effective_days(kind: DataKind, organization_id: int | None, *, overrides: dict | None = None) -> int:
    """The organization's override when it is still within the bounds, else the default.

    The bounds may have narrowed since the override was saved: the deployment's limits win, so an
    operator lowering ``…_MAX_DAYS`` is obeyed at the next run.
    """
    limits = limits_of(kind)
    if not kind.per_organization or organization_id is None:
        return limits.days
    if overrides is None:
        overrides = overrides_of(organization_id)
    days = overrides.get(kind.key)
    if days is None:
        return limits.days
    return min(max(days, limits.min_days), limits.max_days)


@transaction.atomic
def retention_set(*, actor: Actor, kind: str, days: int | None) -> RetentionOverride | None:
    """Set (or with ``days=None`` clear) the organization's retention of ``kind``."""
    actor.require(Capability.ORGANIZATION_MANAGE)
    data_kind = BY_KEY.get(kind)
    if data_kind is None or not data_kind.per_organization:
        raise ValidationError({"kind": f"{kind!r} has no organization setting."})
    organization = actor.organization
    current = (
        RetentionOverride.objects.select_for_update().filter(organization=organization, kind=kind).first()
    )
    if days is None:
        if current is None:
            return None
        current.delete()
        record(actor=actor, verb="retention.reset", data={"kind": kind, "was": current.days})
        return None
    problem = limits_of(kind).check(days)
    if problem:
        raise ValidationError({"days": f"{data_kind.label}: {problem}."})
    if current is not None and current.days == days:
        return current
    was = current.days if current else None
    if current is None:
        current = RetentionOverride(organization=organization, kind=kind)
    current.days, current.updated_at = days, timezone.now()
    current.save()
    record(actor=actor, verb="retention.set", target=current, data={"kind": kind, "days": days, "was": was})
    return current
