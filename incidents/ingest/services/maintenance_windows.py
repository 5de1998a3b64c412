"""Every write to a maintenance window: create, update, delete."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from incidents.ingest.matching import validate_matchers
from incidents.ingest.services.scoping import check_same_organization
from incidents.models import MaintenanceWindow, Recurrence
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.core.changes import apply_changes, refuse_unknown

# What a caller may set on a window, in display order: the API serializer and the admin list the same.
MAINTENANCE_WINDOW_FIELDS = (
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
)


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
    check_same_organization(organization, window.service, "service", errors)
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
    view = {}
    for field in MAINTENANCE_WINDOW_FIELDS:
        value = getattr(window, "service_id" if field == "service" else field)
        view[field] = value.isoformat() if value is not None and hasattr(value, "isoformat") else value
    return view


@transaction.atomic
def maintenance_window_create(*, actor: Actor, name: str, **values) -> MaintenanceWindow:
    actor.require(Capability.INTEGRATION_MANAGE)
    refuse_unknown(values, MAINTENANCE_WINDOW_FIELDS, "Unknown field.")
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
    refuse_unknown(values, MAINTENANCE_WINDOW_FIELDS, "Unknown field.")
    locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
    changed = apply_changes(locked, values)
    if not changed:
        return locked
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
