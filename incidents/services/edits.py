"""Edits that keep the incident's state: fields, assignees, responders, notes."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from incidents.models import Incident, IncidentNote, Priority, Severity
from incidents.realtime import publish_incident
from incidents.services.base import apply_action, ensure_same_organization, lock
from incidents.sla.policy import apply_policy
from incidents.state import check
from opsplatform.accounts.models import Membership
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

EDITABLE = {"title", "description", "labels", "severity", "priority", "service", "team"}
MAX_NOTE = 20_000


def _as_ledger_value(value):
    return getattr(value, "pk", value)


def _validate(changes: dict, organization) -> None:
    errors = {}
    unknown = set(changes) - EDITABLE
    for field in unknown:
        errors[field] = "This field cannot be changed here."
    if "title" in changes and not str(changes["title"]).strip():
        errors["title"] = "A title is required."
    if "severity" in changes and changes["severity"] not in Severity.values:
        errors["severity"] = f"Choose one of {', '.join(Severity.values)}."
    if "priority" in changes and changes["priority"] not in Priority.values:
        errors["priority"] = f"Choose one of {', '.join(Priority.values)}."
    if "labels" in changes and not isinstance(changes["labels"], dict):
        errors["labels"] = "Labels are a JSON object of strings."
    for field in ("service", "team"):
        obj = changes.get(field)
        if obj is not None and obj.organization_id != organization.pk:
            errors[field] = "Not found."
    if errors:
        raise ValidationError(errors)


def incident_update(*, actor: Actor, incident: Incident, **changes) -> Incident:
    _validate(changes, incident.organization)

    def change(inc, target):
        changed = {k: v for k, v in changes.items() if getattr(inc, k) != v}
        for key, value in changed.items():
            setattr(inc, key, value)
        fields = list(changed)
        # A new severity or service may mean another SLA policy, as long as none of its clocks fired.
        untouched = not any(
            [inc.ack_warned_at, inc.ack_breached_at, inc.resolve_warned_at, inc.resolve_breached_at]
        )
        if {"severity", "service"} & set(changed) and untouched:
            fields += apply_policy(inc)
        data = {"changes": {k: _as_ledger_value(v) for k, v in changed.items()}}
        return fields, data

    return apply_action(
        actor=actor,
        incident=incident,
        action="edit",
        capability=Capability.INCIDENT_MANAGE,
        verb="incident.updated",
        change=change,
    )


def members_only(organization, users) -> list:
    users = list(users)
    ids = set(
        Membership.objects.filter(organization=organization, user__in=users).values_list("user_id", flat=True)
    )
    strangers = [u for u in users if u.pk not in ids]
    if strangers:
        raise ValidationError({"users": "Only members of this organization can be assigned."})
    return users


@transaction.atomic
def _set_people(*, actor, incident, users, relation: str, verb: str, replace: bool) -> Incident:
    ensure_same_organization(actor, incident)
    actor.require(Capability.INCIDENT_MANAGE, incident)
    users = members_only(incident.organization, users)
    locked = lock(incident.pk)
    check("edit", locked.status)
    manager = getattr(locked, relation)
    before = set(manager.values_list("username", flat=True))
    if replace:
        manager.set(users)
    else:
        manager.add(*users)
    after = set(manager.values_list("username", flat=True))
    if before == after:
        return locked
    Incident.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    record(
        actor=actor,
        verb=verb,
        target=locked,
        data={"added": sorted(after - before), "removed": sorted(before - after)},
    )
    publish_incident(locked, verb)
    return locked


def incident_reassign(*, actor: Actor, incident: Incident, assignees) -> Incident:
    return _set_people(
        actor=actor,
        incident=incident,
        users=assignees,
        relation="assignees",
        verb="incident.reassigned",
        replace=True,
    )


def incident_add_responders(*, actor: Actor, incident: Incident, responders) -> Incident:
    return _set_people(
        actor=actor,
        incident=incident,
        users=responders,
        relation="responders",
        verb="incident.responders_added",
        replace=False,
    )


@transaction.atomic
def incident_add_note(*, actor: Actor, incident: Incident, body: str) -> IncidentNote:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "A note cannot be empty."})
    if len(body) > MAX_NOTE:
        raise ValidationError({"body": f"A note is at most {MAX_NOTE:,} characters."})
    ensure_same_organization(actor, incident)
    actor.require(Capability.INCIDENT_ACKNOWLEDGE, incident)
    locked = lock(incident.pk)
    check("note", locked.status)
    note = IncidentNote.objects.create(
        organization_id=locked.organization_id, incident=locked, author=actor.user, body=body
    )
    record(actor=actor, verb="incident.note_added", target=locked, data={"note_id": note.pk, "body": body})
    publish_incident(locked, "incident.note_added")
    return note
