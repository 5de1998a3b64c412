"""On-call and notifications: writes to schedules and their layers (rotations).

Each function checks the actor's capability (``schedule.manage``), writes in one transaction and
records its ledger entry in that transaction. Overrides and swaps are in ``overrides``, calendar feeds
in ``calendar_feeds``.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from notifications import oncall
from notifications.models import LayerParticipant, RotationKind, Schedule, ScheduleLayer, StepTarget
from opsplatform.accounts.models import Membership, Team
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

MAX_LAYERS = 10
MAX_PARTICIPANTS = 100


def require_same_org(actor: Actor, obj, field: str) -> None:
    if obj is not None and obj.organization_id != getattr(actor.organization, "pk", None):
        raise ValidationError({field: "Not found."})


def require_members(organization, users, field: str) -> list:
    users = list(users)
    ids = set(
        Membership.objects.filter(organization=organization, user__in=users).values_list("user_id", flat=True)
    )
    outsiders = [u.username for u in users if u.pk not in ids]
    if outsiders:
        raise ValidationError({field: f"Not members of this organization: {', '.join(outsiders)}."})
    return users


# --- schedules ----------------------------------------------------------------------------------


@transaction.atomic
def schedule_create(*, actor: Actor, team: Team, name: str, description: str = "") -> Schedule:
    actor.require(Capability.SCHEDULE_MANAGE)
    require_same_org(actor, team, "team")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A schedule needs a name."})
    if Schedule.objects.filter(organization=actor.organization, name__iexact=name).exists():
        raise ValidationError({"name": "A schedule with this name already exists."})
    schedule = Schedule(organization=actor.organization, team=team, name=name[:150], description=description)
    schedule.full_clean()
    schedule.save()
    record(actor=actor, verb="schedule.created", target=schedule, data={"name": name, "team": team.pk})
    return schedule


@transaction.atomic
def schedule_update(*, actor: Actor, schedule: Schedule, **changes) -> Schedule:
    actor.require(Capability.SCHEDULE_MANAGE)
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk, organization=actor.organization)
    unknown = set(changes) - {"name", "description", "team"}
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if "team" in changes:
        require_same_org(actor, changes["team"], "team")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise ValidationError({"name": "A schedule needs a name."})
        clash = Schedule.objects.filter(organization=actor.organization, name__iexact=changes["name"])
        if clash.exclude(pk=schedule.pk).exists():
            raise ValidationError({"name": "A schedule with this name already exists."})
    changed = {k: v for k, v in changes.items() if getattr(schedule, k) != v}
    if not changed:
        return schedule
    for key, value in changed.items():
        setattr(schedule, key, value)
    schedule.full_clean()
    schedule.save(update_fields=list(changed))
    data = {k: (v.pk if isinstance(v, Team) else v) for k, v in changed.items()}
    record(actor=actor, verb="schedule.updated", target=schedule, data={"changes": data})
    return schedule


@transaction.atomic
def schedule_delete(*, actor: Actor, schedule: Schedule) -> None:
    actor.require(Capability.SCHEDULE_MANAGE)
    used = (
        StepTarget.objects.filter(schedule=schedule)
        .select_related("step__policy")
        .values_list("step__policy__name", flat=True)
    )
    names = sorted(set(used))
    if names:
        raise ValidationError(
            {"schedule": f"Escalation policies page this schedule: {', '.join(names)}. Change them first."}
        )
    record(actor=actor, verb="schedule.deleted", target=schedule, data={"name": schedule.name})
    schedule.delete()


# --- layers -------------------------------------------------------------------------------------


def _parse_hhmm(value, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({field: f"{value!r} is not a time (HH:MM)."}) from exc
    return parsed.replace(second=0, microsecond=0)


def clean_restrictions(raw) -> list[dict]:
    """Validated, normalized restrictions: ``[{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]``."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > 14:
        raise ValidationError({"restrictions": "A list of at most 14 windows."})
    cleaned = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationError({"restrictions": f"Window {index + 1} is not an object."})
        unknown = set(item) - {"days", "start", "end"}
        if unknown:
            raise ValidationError({"restrictions": f"Unknown keys {sorted(unknown)} in window {index + 1}."})
        days = item.get("days", list(range(7)))
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
        ):
            raise ValidationError({"restrictions": "days: a non-empty list of 0 (Monday) … 6 (Sunday)."})
        start = _parse_hhmm(item.get("start", ""), "restrictions")
        end = _parse_hhmm(item.get("end", ""), "restrictions")
        if start == end:
            raise ValidationError({"restrictions": "A window cannot start and end at the same time."})
        cleaned.append(
            {"days": sorted(set(days)), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
        )
    return cleaned


def _validate_layer(*, name, rotation, shift_hours, start_date, handoff_time) -> None:
    errors = {}
    if not (name or "").strip():
        errors["name"] = "A layer needs a name."
    if rotation not in RotationKind.values:
        errors["rotation"] = f"Choose one of {', '.join(RotationKind.values)}."
    if rotation == RotationKind.CUSTOM and not (shift_hours and 1 <= shift_hours <= 24 * 28):
        errors["shift_hours"] = "A custom rotation needs a shift length between 1 and 672 hours."
    if not isinstance(start_date, date) or isinstance(start_date, datetime):
        errors["start_date"] = "A date is required."
    elif not oncall.FIRST_DATE <= start_date <= oncall.LAST_DATE:
        # Shifts are computed from this date on: one near the end of time overflows every read.
        errors["start_date"] = f"A date from {oncall.FIRST_DATE} to {oncall.LAST_DATE}."
    if not isinstance(handoff_time, time):
        errors["handoff_time"] = "A time is required."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def layer_save(
    *,
    actor: Actor,
    schedule: Schedule,
    layer: ScheduleLayer | None = None,
    name: str,
    rotation: str,
    start_date: date,
    handoff_time: time,
    participants,
    priority: int | None = None,
    shift_hours: int | None = None,
    restrictions=None,
) -> ScheduleLayer:
    """Create (``layer=None``) or replace a layer; ``participants`` are users in rotation order."""
    actor.require(Capability.SCHEDULE_MANAGE)
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk, organization=actor.organization)
    handoff_time = _parse_hhmm(handoff_time, "handoff_time") if handoff_time is not None else None
    _validate_layer(
        name=name,
        rotation=rotation,
        shift_hours=shift_hours,
        start_date=start_date,
        handoff_time=handoff_time,
    )
    restrictions = clean_restrictions(restrictions)
    participants = require_members(actor.organization, participants, "participants")
    if not participants:
        raise ValidationError({"participants": "A layer needs at least one participant."})
    if len(participants) > MAX_PARTICIPANTS:
        raise ValidationError({"participants": f"At most {MAX_PARTICIPANTS} participants."})
    if layer is None:
        if schedule.layers.count() >= MAX_LAYERS:
            raise ValidationError({"schedule": f"A schedule has at most {MAX_LAYERS} layers."})
        if priority is None:
            last = schedule.layers.order_by("-priority").values_list("priority", flat=True).first()
            priority = 0 if last is None else last + 1
        layer = ScheduleLayer(organization=actor.organization, schedule=schedule)
        verb = "schedule.layer_added"
    else:
        layer = ScheduleLayer.objects.select_for_update().get(pk=layer.pk, schedule=schedule)
        verb = "schedule.layer_changed"
    layer.name = name.strip()[:100]
    layer.priority = layer.priority if priority is None else priority
    layer.rotation = rotation
    layer.shift_hours = shift_hours if rotation == RotationKind.CUSTOM else None
    layer.start_date = start_date
    layer.handoff_time = handoff_time
    layer.restrictions = restrictions
    layer.full_clean(exclude=["organization", "schedule"])
    layer.save()
    layer.participants.all().delete()
    LayerParticipant.objects.bulk_create(
        LayerParticipant(organization=actor.organization, layer=layer, user=user, position=index)
        for index, user in enumerate(participants)
    )
    record(
        actor=actor,
        verb=verb,
        target=schedule,
        data={
            "layer": layer.pk,
            "name": layer.name,
            "rotation": rotation,
            "participants": [u.username for u in participants],
            "restrictions": restrictions,
        },
    )
    return layer


@transaction.atomic
def layer_delete(*, actor: Actor, layer: ScheduleLayer) -> None:
    actor.require(Capability.SCHEDULE_MANAGE)
    layer = ScheduleLayer.objects.select_related("schedule").get(pk=layer.pk, organization=actor.organization)
    record(
        actor=actor,
        verb="schedule.layer_removed",
        target=layer.schedule,
        data={"layer": layer.pk, "name": layer.name},
    )
    layer.delete()
