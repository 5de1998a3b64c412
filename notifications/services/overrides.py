"""On-call and notifications: cover arranged on a schedule, its overrides and swaps.

An override puts someone on call for a time range (covering for one person only, with ``replaces``);
a swap has two people trade places for a time range. Both are made and removed by the same functions,
:func:`cover_create`, :func:`cover_accept`, :func:`cover_decline` and :func:`cover_delete`, told
apart by ``kind``.

Who may be given shifts: only members of the schedule's team whose role can acknowledge incidents
(anyone else would be paged for incidents they cannot act on). Who arranges it: holders of
``schedule.manage`` directly; the people a cover concerns themselves when they are on the team
(covering for a colleague is an everyday act, not a management one). But a member cannot hand shifts
to somebody else on their own: a cover that gives shifts to anyone but its author is ``proposed``
and changes nobody's shifts until that person accepts it (:func:`cover_accept`) or declines it
(:func:`cover_decline`); a manager may answer for them, and the ledger says so. Either side may
withdraw it with :func:`cover_delete`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications import oncall
from notifications.models import CoverStatus, Schedule, ScheduleOverride, ShiftSwap
from notifications.services.schedules import require_members, require_same_org
from opsplatform.accounts.models import Membership
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability, role_grants

MAX_OVERRIDE_SPAN = timedelta(days=90)
OVERRIDE = "override"
SWAP = "swap"


@dataclass(frozen=True)
class _CoverKind:
    model: type[ScheduleOverride] | type[ShiftSwap]
    #: the two people's fields: who is on call, and the other (optional for an override)
    people: tuple[str, str]
    other_required: bool
    #: the error when both are the same person (on the second field)
    same_person: str
    #: fields named in the ledger entry of a removal
    named_on_removal: tuple[str, ...]
    #: the people who end up on call for shifts that were not theirs
    takers: tuple[str, ...]


KINDS = {
    OVERRIDE: _CoverKind(
        model=ScheduleOverride,
        people=("user", "replaces"),
        other_required=False,
        same_person="Someone cannot cover for themselves.",
        named_on_removal=("user",),
        takers=("user",),
    ),
    SWAP: _CoverKind(
        model=ShiftSwap,
        people=("first_user", "second_user"),
        other_required=True,
        same_person="A swap needs two different people.",
        named_on_removal=(),
        takers=("first_user", "second_user"),
    ),
}


def _validate_range(starts_at, ends_at) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError({"starts_at": "A start and an end are required."})
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationError({"starts_at": "Times need a time zone."})
    if not oncall.in_range(starts_at):
        raise ValidationError({"starts_at": "A time from 1970 to 2199."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if ends_at > oncall.LATEST:
        raise ValidationError({"ends_at": "A time from 1970 to 2199."})
    if ends_at - starts_at > MAX_OVERRIDE_SPAN:
        raise ValidationError({"ends_at": "At most 90 days at once."})


def _may_change_own_cover(actor: Actor, schedule: Schedule, people) -> bool:
    """Members of the schedule's team arrange cover among themselves without the manage capability."""
    if actor.can(Capability.SCHEDULE_MANAGE):
        return True
    if actor.user is None or not actor.can(Capability.INCIDENT_ACKNOWLEDGE):
        return False
    involved = {p.pk for p in people if p is not None}
    return actor.user.pk in involved and schedule.team.members.filter(pk=actor.user.pk).exists()


def _require_takers(schedule: Schedule, people: dict) -> None:
    """Everyone given shifts is on the schedule's team and may acknowledge what they are paged for."""
    team = schedule.team
    members = set(team.members.values_list("pk", flat=True))
    roles = dict(
        Membership.objects.filter(
            organization_id=schedule.organization_id, user__in=list(people.values())
        ).values_list("user_id", "role")
    )
    for field, user in people.items():
        if user.pk not in members or not role_grants(roles.get(user.pk), Capability.INCIDENT_ACKNOWLEDGE):
            raise ValidationError(
                {
                    field: f"{user.username} cannot take shifts: only members of {team.name} who can "
                    "acknowledge incidents can."
                }
            )


def _needs_consent(actor: Actor, takers: dict) -> bool:
    """A member (not a manager) giving shifts to anyone but themselves needs that person's yes."""
    if actor.can(Capability.SCHEDULE_MANAGE):
        return False
    return any(user.pk != actor.user.pk for user in takers.values())


def _username(user) -> str | None:
    return user.username if user is not None else None


@transaction.atomic
def cover_create(
    *,
    actor: Actor,
    schedule: Schedule,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    **people,
) -> ScheduleOverride | ShiftSwap:
    """An override (``kind="override"``, people ``user`` and optionally ``replaces``) or a swap
    (``kind="swap"``, people ``first_user`` and ``second_user``) on ``schedule``."""
    spec = KINDS[kind]
    unknown = set(people) - set(spec.people)
    if unknown:
        raise TypeError(f"a {kind} has no {', '.join(sorted(unknown))}")
    first, second = spec.people
    on_call, other = people[first], people.get(second)
    require_same_org(actor, schedule, "schedule")
    if not _may_change_own_cover(actor, schedule, [on_call, other]):
        raise PermissionDenied(f"Missing capability {Capability.SCHEDULE_MANAGE}.")
    _validate_range(starts_at, ends_at)
    if spec.other_required and other is None:
        raise ValidationError({second: "Pick the second person."})
    if other is not None and other.pk == on_call.pk:
        raise ValidationError({second: spec.same_person})
    require_members(actor.organization, [u for u in (on_call, other) if u is not None], first)
    takers = {field: people[field] for field in spec.takers if people.get(field) is not None}
    _require_takers(schedule, takers)
    status = CoverStatus.PROPOSED if _needs_consent(actor, takers) else CoverStatus.ACTIVE
    cover = spec.model.objects.create(
        status=status,
        organization=actor.organization,
        schedule=schedule,
        starts_at=starts_at,
        ends_at=ends_at,
        note=(note or "")[:200],
        created_by=actor.user,
        **{first: on_call, second: other},
    )
    record(
        actor=actor,
        verb=f"schedule.{kind}_created",
        target=schedule,
        data={
            kind: cover.pk,
            first: _username(on_call),
            second: _username(other),
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            **({"status": status} if status == CoverStatus.PROPOSED else {}),
        },
    )
    return cover


class CoverDecided(Exception):
    """The proposal was answered already: it is active (accepted, or never needed an answer).
    A declined proposal is gone, so it is not found at all."""


def _asked(cover, spec: _CoverKind) -> set[int]:
    """The people whose yes a cover needs: those it gives shifts to, but its author."""
    asked = {getattr(cover, f).pk for f in spec.takers if getattr(cover, f) is not None}
    asked.discard(cover.created_by_id)
    return asked


def _lock_for_answer(actor: Actor, cover, on_behalf: bool, verb: str):
    """The cover, locked, once ``actor`` may answer it: the person asked, or with ``on_behalf`` a
    holder of ``schedule.manage`` (who answers for them, and the ledger says so)."""
    kind = OVERRIDE if isinstance(cover, ScheduleOverride) else SWAP
    spec = KINDS[kind]
    cover = (
        spec.model.objects.select_for_update(of=("self",))
        .select_related("schedule__team", *spec.people)
        .get(pk=cover.pk, organization=actor.organization)
    )
    asked = _asked(cover, spec)
    if on_behalf:
        if not actor.can(Capability.SCHEDULE_MANAGE):
            raise PermissionDenied(f"Answering for someone else needs {Capability.SCHEDULE_MANAGE}.")
    elif actor.user is None or actor.user.pk not in asked:
        raise PermissionDenied(f"Only the person this cover gives shifts to can {verb} it.")
    return kind, spec, cover


def _answer_data(kind: str, cover, spec: _CoverKind, on_behalf: bool) -> dict:
    data = {kind: cover.pk}
    if on_behalf:
        data["on_behalf_of"] = sorted(
            getattr(cover, f).username
            for f in spec.takers
            if getattr(cover, f) is not None and getattr(cover, f).pk in _asked(cover, spec)
        )
    return data


@transaction.atomic
def cover_accept(
    *,
    actor: Actor,
    cover: ScheduleOverride | ShiftSwap,
    on_behalf: bool = False,
    again_is_error: bool = False,
) -> ScheduleOverride | ShiftSwap:
    """The person a proposed cover gives shifts to agrees (or, ``on_behalf``, a manager for them):
    from now on it applies.

    Accepting an active cover again changes nothing; with ``again_is_error`` (the API, where the
    client must learn that its request did nothing) it raises :class:`CoverDecided` instead.
    """
    kind, spec, cover = _lock_for_answer(actor, cover, on_behalf, "accept")
    if cover.status == CoverStatus.ACTIVE:
        if again_is_error:
            raise CoverDecided("This cover is already active.")
        return cover
    # They may have left the team or lost the role since it was proposed.
    _require_takers(cover.schedule, {f: getattr(cover, f) for f in spec.takers if getattr(cover, f)})
    cover.status = CoverStatus.ACTIVE
    cover.save(update_fields=["status"])
    record(
        actor=actor,
        verb=f"schedule.{kind}_accepted",
        target=cover.schedule,
        data=_answer_data(kind, cover, spec, on_behalf),
    )
    return cover


@transaction.atomic
def cover_decline(*, actor: Actor, cover: ScheduleOverride | ShiftSwap, on_behalf: bool = False) -> None:
    """The person asked says no (or, ``on_behalf``, a manager for them): the proposal is removed,
    and the ledger keeps who declined it. An active cover cannot be declined (:class:`CoverDecided`);
    it is removed with :func:`cover_delete`."""
    kind, spec, cover = _lock_for_answer(actor, cover, on_behalf, "decline")
    if cover.status != CoverStatus.PROPOSED:
        raise CoverDecided("This cover is already active: remove it instead.")
    record(
        actor=actor,
        verb=f"schedule.{kind}_declined",
        target=cover.schedule,
        data=_answer_data(kind, cover, spec, on_behalf),
    )
    cover.delete()


@transaction.atomic
def cover_delete(*, actor: Actor, cover: ScheduleOverride | ShiftSwap) -> None:
    """Remove an override or a swap (the same people may remove it as may make it)."""
    kind = OVERRIDE if isinstance(cover, ScheduleOverride) else SWAP
    spec = KINDS[kind]
    cover = spec.model.objects.select_related("schedule__team", *spec.people).get(
        pk=cover.pk, organization=actor.organization
    )
    people = [getattr(cover, field) for field in spec.people]
    if not _may_change_own_cover(actor, cover.schedule, people):
        raise PermissionDenied(f"Missing capability {Capability.SCHEDULE_MANAGE}.")
    named = {field: getattr(cover, field).username for field in spec.named_on_removal}
    record(
        actor=actor, verb=f"schedule.{kind}_removed", target=cover.schedule, data={kind: cover.pk, **named}
    )
    cover.delete()
