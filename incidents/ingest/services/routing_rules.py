"""Every write to an integration's routing rules: create, update, delete, reorder."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import record
from incidents.ingest.matching import validate_matchers
from incidents.ingest.services.scoping import check_same_organization
from incidents.models import Integration, Priority, RoutingAction, RoutingRule, Severity
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

# What a caller may set on a rule, in display order: the API serializer and the admin list the same.
ROUTING_RULE_FIELDS = (
    "name",
    "position",
    "enabled",
    "matchers",
    "action",
    "route_service",
    "route_team",
    "set_severity",
    "set_priority",
    "add_labels",
)
_RELATED = frozenset({"route_service", "route_team"})


def _validate_rule(organization, values: dict) -> None:
    errors = {}
    for field in set(values) - set(ROUTING_RULE_FIELDS):
        errors[field] = "Unknown field."
    if "name" in values and not str(values["name"] or "").strip():
        errors["name"] = "A rule needs a name."
    if "matchers" in values:
        problem = validate_matchers(values["matchers"])
        if problem:
            errors["matchers"] = problem
    if "action" in values and values["action"] not in RoutingAction.values:
        errors["action"] = f"Choose one of {', '.join(RoutingAction.values)}."
    if values.get("set_severity") and values["set_severity"] not in Severity.values:
        errors["set_severity"] = f"Choose one of {', '.join(Severity.values)}."
    if values.get("set_priority") and values["set_priority"] not in Priority.values:
        errors["set_priority"] = f"Choose one of {', '.join(Priority.values)}."
    labels = values.get("add_labels")
    if labels is not None and not (
        isinstance(labels, dict)
        and len(labels) <= 50
        and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        errors["add_labels"] = "An object of at most 50 string labels."
    check_same_organization(organization, values.get("route_service"), "route_service", errors)
    check_same_organization(organization, values.get("route_team"), "route_team", errors)
    if errors:
        raise ValidationError(errors)


def _rule_view(rule: RoutingRule) -> dict:
    return {
        field: getattr(rule, f"{field}_id" if field in _RELATED else field) for field in ROUTING_RULE_FIELDS
    }


def _touch(integration: Integration) -> None:
    Integration.objects.filter(pk=integration.pk).update(updated_at=timezone.now())


@transaction.atomic
def routing_rule_create(*, actor: Actor, integration: Integration, name: str, **values) -> RoutingRule:
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    _validate_rule(integration.organization, {"name": name, **values})
    # Lock the integration: two rules added at once must not take the same position.
    Integration.objects.select_for_update().filter(pk=integration.pk).first()
    if values.get("position") is None:
        last = RoutingRule.objects.filter(integration=integration).aggregate(m=Max("position"))["m"]
        values["position"] = 0 if last is None else last + 1
    rule = RoutingRule.objects.create(
        organization_id=integration.organization_id, integration=integration, name=name.strip(), **values
    )
    _touch(integration)
    record(actor=actor, verb="routing_rule.created", target=rule, data=_rule_view(rule))
    return rule


@transaction.atomic
def routing_rule_update(*, actor: Actor, rule: RoutingRule, **values) -> RoutingRule:
    actor.require(Capability.INTEGRATION_MANAGE)
    if rule.organization_id != actor.organization.pk:
        raise ValidationError({"rule": "Not found."})
    _validate_rule(rule.organization, values)
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    changed = {k: v for k, v in values.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    for key, value in changed.items():
        setattr(locked, key, value.strip() if key == "name" else value)
    locked.save(update_fields=list(changed))
    _touch(locked.integration)
    record(
        actor=actor,
        verb="routing_rule.updated",
        target=locked,
        data={"changes": {k: getattr(v, "pk", v) for k, v in changed.items()}},
    )
    return locked


@transaction.atomic
def routing_rule_delete(*, actor: Actor, rule: RoutingRule) -> None:
    actor.require(Capability.INTEGRATION_MANAGE)
    if rule.organization_id != actor.organization.pk:
        raise ValidationError({"rule": "Not found."})
    record(actor=actor, verb="routing_rule.deleted", target=rule, data={"name": rule.name})
    _touch(rule.integration)
    rule.delete()


@transaction.atomic
def routing_rules_reorder(
    *, actor: Actor, integration: Integration, rule_ids: list[int]
) -> list[RoutingRule]:
    """Set the evaluation order: ``rule_ids`` lists every rule of the integration, first first."""
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    Integration.objects.select_for_update().filter(pk=integration.pk).first()
    rules = {rule.pk: rule for rule in RoutingRule.objects.filter(integration=integration)}
    if sorted(rule_ids) != sorted(rules) or len(set(rule_ids)) != len(rule_ids):
        raise ValidationError({"order": "List every rule of this integration exactly once."})
    for position, rule_id in enumerate(rule_ids):
        rule = rules[rule_id]
        if rule.position != position:
            rule.position = position
            rule.save(update_fields=["position"])
    _touch(integration)
    record(actor=actor, verb="routing_rule.reordered", target=integration, data={"order": rule_ids})
    return [rules[rule_id] for rule_id in rule_ids]
