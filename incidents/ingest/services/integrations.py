"""Every write to an integration: create, update, rotate its key, delete.

Keys and signing secrets never reach the ledger: entries name what changed, not the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.ingest.conf import ingest_settings, valid_rate
from incidents.ingest.formats.webhook import DEFAULT_MAPPING, validate_mapping
from incidents.ingest.keys import generate_key, key_digest, key_prefix
from incidents.ingest.services.scoping import check_same_organization
from incidents.models import Integration, IntegrationKind
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


def _check_basics(organization, kind: str, values: dict, errors: dict) -> None:
    for field in set(values) - INTEGRATION_FIELDS:
        errors[field] = "Unknown field."
    if "name" in values and not str(values["name"] or "").strip():
        errors["name"] = "An integration needs a name."
    elif "name" in values and len(values["name"].strip()) > 150:
        errors["name"] = "At most 150 characters."
    if kind not in IntegrationKind.values:
        errors["kind"] = f"Choose one of {', '.join(IntegrationKind.values)}."
    check_same_organization(organization, values.get("service"), "service", errors)
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
