"""Every write to integrations, their routing rules and maintenance windows.

Keys and signing secrets never reach the ledger: entries name what changed, not the values.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import record
from incidents.ingest.conf import ingest_settings, valid_rate
from incidents.ingest.formats.webhook import DEFAULT_MAPPING, validate_mapping
from incidents.ingest.keys import generate_key, key_digest, key_prefix
from incidents.ingest.matching import validate_matchers
from incidents.models import (
    Integration,
    IntegrationKind,
    MaintenanceWindow,
    Priority,
    Recurrence,
    RoutingAction,
    RoutingRule,
    Severity,
)
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.core.crypto import encrypt

INTEGRATION_FIELDS = {
    "name",
    "service",
    "enabled",
    "grouping",
    "group_window_seconds",
    "auto_resolve",
    "throttle_rate",
    "webhook_mapping",
    "heartbeat_period_seconds",
    "heartbeat_grace_seconds",
    "hmac_secret",
    "hmac_header",
    "hmac_timestamp_header",
}
MIN_HEARTBEAT_SECONDS = 30
MAX_HEARTBEAT_SECONDS = 31 * 24 * 3600
MAX_GROUP_WINDOW = 7 * 24 * 3600
MAX_OVERLAP_HOURS = 24 * 30


@dataclass(frozen=True)
class IssuedKey:
    """An integration and its key in clear: returned once, at creation and on rotation."""

    integration: Integration
    key: str


def _same_organization(organization, obj, field: str, errors: dict) -> None:
    if obj is not None and obj.organization_id != organization.pk:
        errors[field] = "Not found."


def _check_basics(organization, kind: str, values: dict, errors: dict) -> None:
    for field in set(values) - INTEGRATION_FIELDS:
        errors[field] = "Unknown field."
    if "name" in values and not str(values["name"] or "").strip():
        errors["name"] = "An integration needs a name."
    elif "name" in values and len(values["name"].strip()) > 150:
        errors["name"] = "At most 150 characters."
    if kind not in IntegrationKind.values:
        errors["kind"] = f"Choose one of {', '.join(IntegrationKind.values)}."
    _same_organization(organization, values.get("service"), "service", errors)
    rate = values.get("throttle_rate")
    if rate and not valid_rate(rate):
        errors["throttle_rate"] = 'A rate like "600/min" (per s, min, hour or day).'
    window = values.get("group_window_seconds")
    if window is not None and not (0 <= window <= MAX_GROUP_WINDOW):
        errors["group_window_seconds"] = f"Between 0 and {MAX_GROUP_WINDOW} seconds."


def _check_kind_specific(kind: str, values: dict, errors: dict) -> None:
    if values.get("webhook_mapping"):
        if kind != IntegrationKind.WEBHOOK:
            errors["webhook_mapping"] = "Only webhook integrations have a mapping."
        else:
            errors.update(validate_mapping(values["webhook_mapping"]))
    period = values.get("heartbeat_period_seconds")
    if kind == IntegrationKind.HEARTBEAT and "heartbeat_period_seconds" in values:
        if period is None or not (MIN_HEARTBEAT_SECONDS <= period <= MAX_HEARTBEAT_SECONDS):
            errors["heartbeat_period_seconds"] = (
                f"A heartbeat expects a ping every {MIN_HEARTBEAT_SECONDS} s to 31 days."
            )
    elif kind != IntegrationKind.HEARTBEAT and period:
        errors["heartbeat_period_seconds"] = "Only heartbeat integrations have a period."
    grace = values.get("heartbeat_grace_seconds")
    if grace is not None and not (0 <= grace <= MAX_HEARTBEAT_SECONDS):
        errors["heartbeat_grace_seconds"] = "Between 0 s and 31 days."


def _check_signing(kind: str, values: dict, errors: dict) -> None:
    if values.get("hmac_secret") and kind != IntegrationKind.GRAFANA:
        errors["hmac_secret"] = "Only Grafana integrations verify a signature."
    if len(values.get("hmac_secret") or "") > 512:
        errors["hmac_secret"] = "At most 512 characters."
    for header in ("hmac_header", "hmac_timestamp_header"):
        value = values.get(header)
        if value and (len(value) > 100 or not all(c.isalnum() or c == "-" for c in value)):
            errors[header] = "An HTTP header name (letters, digits and dashes)."
    if "hmac_header" in values and not values["hmac_header"]:
        errors["hmac_header"] = "The signature header needs a name."


def _validate_integration(organization, kind: str, values: dict) -> None:
    errors = {}
    _check_basics(organization, kind, values, errors)
    _check_kind_specific(kind, values, errors)
    _check_signing(kind, values, errors)
    if errors:
        raise ValidationError(errors)


def _ledger_view(values: dict) -> dict:
    view = {}
    for key, value in values.items():
        if key == "hmac_secret":
            view[key] = "set" if value else "cleared"
        else:
            view[key] = getattr(value, "pk", value)
    return view


def _heartbeat_timer(integration: Integration, now, *, restart: bool) -> None:
    """Set the heartbeat clock: from now when (re)starting, else from the last ping."""
    if integration.kind != IntegrationKind.HEARTBEAT or not integration.enabled:
        integration.next_check_at = None
        return
    start = now if restart or integration.last_ping_at is None else integration.last_ping_at
    span = timedelta(seconds=integration.heartbeat_period_seconds + integration.heartbeat_grace_seconds)
    integration.next_check_at = max(start + span, now)


@transaction.atomic
def integration_create(*, actor: Actor, name: str, kind: str, key: str | None = None, **values) -> IssuedKey:
    """``key`` is only passed by the demo seeder, whose documented demo keys must be stable."""
    actor.require(Capability.INTEGRATION_MANAGE)
    organization = actor.organization
    _validate_integration(organization, kind, {"name": name, **values})
    name = name.strip()
    if Integration.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": "An integration with this name already exists."})
    if kind == IntegrationKind.HEARTBEAT and not values.get("heartbeat_period_seconds"):
        raise ValidationError({"heartbeat_period_seconds": "A heartbeat integration needs a period."})
    if kind == IntegrationKind.WEBHOOK and not values.get("webhook_mapping"):
        values["webhook_mapping"] = dict(DEFAULT_MAPPING)
    secret = values.pop("hmac_secret", "") or ""
    key = key or generate_key()
    now = timezone.now()
    integration = Integration(
        organization=organization,
        name=name,
        kind=kind,
        key_prefix=key_prefix(key),
        key_hash=key_digest(key),
        created_by=actor.user,
        created_at=now,
        updated_at=now,
        **values,
    )
    _heartbeat_timer(integration, now, restart=True)
    integration.save()
    if secret:
        integration.hmac_secret = encrypt(secret, context=f"integration:{integration.pk}")
        integration.save(update_fields=["hmac_secret"])
    record(
        actor=actor,
        verb="integration.created",
        target=integration,
        data=_ledger_view(
            {"name": name, "kind": kind, **values, **({"hmac_secret": secret} if secret else {})}
        ),
    )
    return IssuedKey(integration=integration, key=key)


@transaction.atomic
def integration_update(*, actor: Actor, integration: Integration, **values) -> Integration:
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    _validate_integration(integration.organization, integration.kind, values)
    locked = Integration.objects.select_for_update().get(pk=integration.pk)
    if "name" in values:
        values["name"] = values["name"].strip()
        if (
            values["name"] != locked.name
            and Integration.objects.filter(
                organization_id=locked.organization_id, name=values["name"]
            ).exists()
        ):
            raise ValidationError({"name": "An integration with this name already exists."})
    changed = {}
    for field, value in values.items():
        if field == "hmac_secret":
            # Write-only: a value sets it, an empty string clears it.
            stored = encrypt(value, context=f"integration:{locked.pk}") if value else ""
            if value or locked.hmac_secret:
                locked.hmac_secret = stored
                changed[field] = value
            continue
        if getattr(locked, field) != value:
            setattr(locked, field, value)
            changed[field] = value
    if not changed:
        return locked
    now = timezone.now()
    fields = list(changed)
    if {"enabled", "heartbeat_period_seconds", "heartbeat_grace_seconds"} & set(changed):
        _heartbeat_timer(locked, now, restart="enabled" in changed)
        fields.append("next_check_at")
    locked.updated_at = now
    locked.save(update_fields=[*fields, "updated_at"])
    record(actor=actor, verb="integration.updated", target=locked, data={"changes": _ledger_view(changed)})
    return locked


@transaction.atomic
def integration_rotate_key(
    *, actor: Actor, integration: Integration, overlap_hours: int | None = None
) -> IssuedKey:
    """A new key; the old one keeps working for ``overlap_hours`` (0: it stops now)."""
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    overlap = ingest_settings().key_overlap_hours if overlap_hours is None else overlap_hours
    if not (0 <= overlap <= MAX_OVERLAP_HOURS):
        raise ValidationError({"overlap_hours": f"Between 0 and {MAX_OVERLAP_HOURS} hours."})
    locked = Integration.objects.select_for_update().get(pk=integration.pk)
    now = timezone.now()
    key = generate_key()
    locked.previous_key_hash = locked.key_hash if overlap else ""
    locked.previous_key_expires_at = now + timedelta(hours=overlap) if overlap else None
    locked.key_hash = key_digest(key)
    locked.key_prefix = key_prefix(key)
    locked.key_rotated_at = now
    locked.updated_at = now
    locked.save(
        update_fields=[
            "previous_key_hash",
            "previous_key_expires_at",
            "key_hash",
            "key_prefix",
            "key_rotated_at",
            "updated_at",
        ]
    )
    record(
        actor=actor,
        verb="integration.key_rotated",
        target=locked,
        data={
            "prefix": locked.key_prefix,
            "previous_valid_until": locked.previous_key_expires_at.isoformat() if overlap else None,
        },
    )
    return IssuedKey(integration=locked, key=key)


@transaction.atomic
def integration_delete(*, actor: Actor, integration: Integration) -> None:
    actor.require(Capability.INTEGRATION_MANAGE)
    if integration.organization_id != actor.organization.pk:
        raise ValidationError({"integration": "Not found."})
    record(
        actor=actor,
        verb="integration.deleted",
        target=integration,
        data={"name": integration.name, "kind": integration.kind},
    )
    integration.delete()


# --- routing rules ------------------------------------------------------------------------------

RULE_FIELDS = {
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
}


def _validate_rule(organization, values: dict) -> None:
    errors = {}
    for field in set(values) - RULE_FIELDS:
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
    _same_organization(organization, values.get("route_service"), "route_service", errors)
    _same_organization(organization, values.get("route_team"), "route_team", errors)
    if errors:
        raise ValidationError(errors)


def _rule_view(rule: RoutingRule) -> dict:
    return {
        "name": rule.name,
        "position": rule.position,
        "enabled": rule.enabled,
        "matchers": rule.matchers,
        "action": rule.action,
        "route_service": rule.route_service_id,
        "route_team": rule.route_team_id,
        "set_severity": rule.set_severity,
        "set_priority": rule.set_priority,
        "add_labels": rule.add_labels,
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


# --- maintenance windows ------------------------------------------------------------------------

WINDOW_FIELDS = {
    "name",
    "service",
    "matchers",
    "recurrence",
    "starts_at",
    "ends_at",
    "weekdays",
    "start_time",
    "duration_minutes",
    "time_zone",
    "enabled",
}


def _check_schedule(window: MaintenanceWindow, errors: dict) -> None:
    if window.recurrence == Recurrence.ONCE:
        if window.starts_at is None or window.ends_at is None:
            errors["starts_at"] = "A one-off window needs a start and an end."
        elif window.ends_at <= window.starts_at:
            errors["ends_at"] = "The end comes after the start."
        return
    if not window.weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in window.weekdays):
        errors["weekdays"] = "Pick at least one day (0=Monday … 6=Sunday)."
    if window.start_time is None:
        errors["start_time"] = "A weekly window needs a start time."
    if not window.duration_minutes or not (1 <= window.duration_minutes <= 7 * 24 * 60):
        errors["duration_minutes"] = "Between 1 minute and 7 days."
    if window.starts_at and window.ends_at and window.ends_at <= window.starts_at:
        errors["ends_at"] = "The end comes after the start."


def _validate_window(organization, window: MaintenanceWindow) -> None:
    errors = {}
    if not (window.name or "").strip():
        errors["name"] = "A window needs a name."
    _same_organization(organization, window.service, "service", errors)
    problem = validate_matchers(window.matchers)
    if problem:
        errors["matchers"] = problem
    if window.service_id is None and not window.matchers:
        errors["service"] = "Choose a service or give label matchers: a window never covers everything."
    if window.recurrence not in Recurrence.values:
        errors["recurrence"] = f"Choose one of {', '.join(Recurrence.values)}."
    else:
        _check_schedule(window, errors)
    try:
        zoneinfo.ZoneInfo(window.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = f"{window.time_zone!r} is not a known IANA time zone."
    if errors:
        raise ValidationError(errors)


def _window_view(window: MaintenanceWindow) -> dict:
    return {
        "name": window.name,
        "service": window.service_id,
        "matchers": window.matchers,
        "recurrence": window.recurrence,
        "starts_at": window.starts_at.isoformat() if window.starts_at else None,
        "ends_at": window.ends_at.isoformat() if window.ends_at else None,
        "weekdays": window.weekdays,
        "start_time": window.start_time.isoformat() if window.start_time else None,
        "duration_minutes": window.duration_minutes,
        "time_zone": window.time_zone,
        "enabled": window.enabled,
    }


@transaction.atomic
def maintenance_window_create(*, actor: Actor, name: str, **values) -> MaintenanceWindow:
    actor.require(Capability.INTEGRATION_MANAGE)
    unknown = set(values) - WINDOW_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    window = MaintenanceWindow(
        organization=actor.organization, name=(name or "").strip(), created_by=actor.user, **values
    )
    if window.time_zone in (None, ""):
        window.time_zone = actor.organization.time_zone or "UTC"
    _validate_window(actor.organization, window)
    window.save()
    record(actor=actor, verb="maintenance_window.created", target=window, data=_window_view(window))
    return window


@transaction.atomic
def maintenance_window_update(*, actor: Actor, window: MaintenanceWindow, **values) -> MaintenanceWindow:
    actor.require(Capability.INTEGRATION_MANAGE)
    if window.organization_id != actor.organization.pk:
        raise ValidationError({"window": "Not found."})
    unknown = set(values) - WINDOW_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
    changed = {k: v for k, v in values.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    for key, value in changed.items():
        setattr(locked, key, value)
    _validate_window(locked.organization, locked)
    locked.save(update_fields=list(changed))
    record(
        actor=actor,
        verb="maintenance_window.updated",
        target=locked,
        data={"changes": {k: v for k, v in _window_view(locked).items() if k in changed}},
    )
    return locked


@transaction.atomic
def maintenance_window_delete(*, actor: Actor, window: MaintenanceWindow) -> None:
    actor.require(Capability.INTEGRATION_MANAGE)
    if window.organization_id != actor.organization.pk:
        raise ValidationError({"window": "Not found."})
    record(actor=actor, verb="maintenance_window.deleted", target=window, data={"name": window.name})
    window.delete()


__all__ = [
    "IssuedKey",
    "integration_create",
    "integration_delete",
    "integration_rotate_key",
    "integration_update",
    "maintenance_window_create",
    "maintenance_window_delete",
    "maintenance_window_update",
    "routing_rule_create",
    "routing_rule_delete",
    "routing_rule_update",
    "routing_rules_reorder",
]
