"""Monitor writes: create, update, delete, pause, resume; each checks, writes, and records a ledger entry."""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Service
from monitoring import heartbeat
from monitoring.models import MIN_INTERVAL_SECONDS, Monitor, MonitorKind, MonitorState
from monitoring.services.validation import validate_monitor
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

EDITABLE = (
    "name",
    "service",
    "target",
    "interval_seconds",
    "timeout_seconds",
    "jitter_seconds",
    "down_interval_seconds",
    "down_after",
    "up_after",
    "failure_ratio",
    "ratio_window",
    "degraded_latency_ms",
    "assertions",
)


def ping_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check(monitor: Monitor) -> None:
    errors = {}
    if monitor.interval_seconds < MIN_INTERVAL_SECONDS:
        errors["interval_seconds"] = f"At least {MIN_INTERVAL_SECONDS} seconds."
    if monitor.down_interval_seconds is not None and monitor.down_interval_seconds < MIN_INTERVAL_SECONDS:
        errors["down_interval_seconds"] = f"At least {MIN_INTERVAL_SECONDS} seconds."
    if not 0.1 <= monitor.timeout_seconds <= min(monitor.interval_seconds, 60):
        errors["timeout_seconds"] = "From 0.1 seconds to the interval (60 at most)."
    if (monitor.failure_ratio is None) != (monitor.ratio_window is None):
        errors["failure_ratio"] = "Give both failure_ratio and ratio_window, or neither."
    if (
        monitor.service_id
        and not Service.objects.filter(
            pk=monitor.service_id, organization_id=monitor.organization_id
        ).exists()
    ):
        errors["service"] = "Not a service of this organization."
    if errors:
        raise ValidationError(errors)
    try:
        monitor.full_clean(
            exclude=["organization", "service"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    validate_monitor(kind=monitor.kind, target=monitor.target, assertions=monitor.assertions)
    if (
        Monitor.objects.filter(organization_id=monitor.organization_id, name=monitor.name)
        .exclude(pk=monitor.pk)
        .exists()
    ):
        raise ValidationError({"name": "A monitor with this name already exists."})


def _first_check(monitor: Monitor, now) -> None:
    if monitor.kind == MonitorKind.HEARTBEAT:
        since = monitor.last_ping_at or now
        monitor.next_check_at = heartbeat.deadline(monitor.assertions, since)
    else:
        monitor.next_check_at = now


def _view(monitor: Monitor) -> dict:
    return {f: getattr(monitor, "service_id" if f == "service" else f) for f in ("kind", *EDITABLE)}


@transaction.atomic
def monitor_create(*, actor: Actor, name: str, kind: str, target: str, **values) -> Monitor:
    actor.require(Capability.MONITOR_MANAGE)
    now = timezone.now()
    monitor = Monitor(
        organization=actor.organization,
        name=(name or "").strip(),
        kind=kind,
        target=(target or "").strip(),
        created_at=now,
        updated_at=now,
        **values,
    )
    _check(monitor)
    if kind == MonitorKind.HEARTBEAT and "down_after" not in values:
        monitor.down_after = 1  # a missed or failed run is already confirmed: no retry to wait for
    if kind == MonitorKind.HEARTBEAT:
        # Shown once (the API's create answer); only its digest is stored, like integration keys.
        monitor.issued_ping_key = secrets.token_urlsafe(24)
        monitor.ping_key_hash = ping_key_digest(monitor.issued_ping_key)
    _first_check(monitor, now)
    monitor.save()
    record(actor=actor, verb="monitor.created", target=monitor, data=_view(monitor))
    return monitor


@transaction.atomic
def monitor_update(*, actor: Actor, monitor: Monitor, **values) -> Monitor:
    actor.require(Capability.MONITOR_MANAGE)
    monitor = Monitor.objects.select_for_update().get(pk=monitor.pk, organization=actor.organization)
    changed = {}
    for field, value in values.items():
        if field not in EDITABLE:
            raise ValidationError({field: "Cannot be changed."})
        attr = "service_id" if field == "service" else field
        new = value.pk if field == "service" and value is not None else value
        if getattr(monitor, attr) != new:
            setattr(monitor, attr, new)
            changed[field] = new
    if not changed:
        return monitor
    _check(monitor)
    monitor.updated_at = timezone.now()
    if not monitor.paused and {"target", "assertions", "interval_seconds"} & set(changed):
        _first_check(monitor, monitor.updated_at)
    monitor.save()
    record(actor=actor, verb="monitor.updated", target=monitor, data={"changed": changed})
    return monitor


@transaction.atomic
def monitor_delete(*, actor: Actor, monitor: Monitor) -> None:
    actor.require(Capability.MONITOR_MANAGE)
    record(
        actor=actor, verb="monitor.deleted", target=monitor, data={"name": monitor.name, "kind": monitor.kind}
    )
    monitor.delete()


@transaction.atomic
def monitor_pause(*, actor: Actor, monitor: Monitor) -> Monitor:
    actor.require(Capability.MONITOR_MANAGE)
    monitor = Monitor.objects.select_for_update().get(pk=monitor.pk, organization=actor.organization)
    if monitor.paused:
        return monitor
    now = timezone.now()
    previous = monitor.state
    monitor.paused, monitor.state, monitor.next_check_at = True, MonitorState.PAUSED, None
    monitor.state_changed_at = monitor.updated_at = now
    monitor.save(update_fields=["paused", "state", "next_check_at", "state_changed_at", "updated_at"])
    record(actor=actor, verb="monitor.paused", target=monitor, data={"from": previous})
    return monitor


@transaction.atomic
def monitor_resume(*, actor: Actor, monitor: Monitor) -> Monitor:
    actor.require(Capability.MONITOR_MANAGE)
    monitor = Monitor.objects.select_for_update().get(pk=monitor.pk, organization=actor.organization)
    if not monitor.paused:
        return monitor
    now = timezone.now()
    # Back to pending with fresh counters: results from before the pause say nothing about now.
    monitor.paused, monitor.state = False, MonitorState.PENDING
    monitor.consecutive_failures = monitor.consecutive_successes = 0
    monitor.history, monitor.flapping = "", False
    monitor.state_changed_at = monitor.updated_at = now
    monitor.next_check_at = (
        heartbeat.deadline(monitor.assertions, now) if monitor.kind == MonitorKind.HEARTBEAT else now
    )
    monitor.save()
    record(actor=actor, verb="monitor.resumed", target=monitor, data={})
    return monitor
