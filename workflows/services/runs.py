"""Runs: start one, and the one function every transition goes through.

``transition``: check the guard (capability, role: no lock for a refused caller), lock the run,
validate the event against its version's state machine and the required fields, apply, write the
ledger entry, publish after commit. An event already applied (the run sits in that event's target
state and that was its last event) is a no-op, so a double click or a retried request changes
nothing; any other event the state does not allow is a ``TransitionError`` (409 on the API).
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from audit.services import record
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows import guards
from workflows.errors import TransitionError
from workflows.models import WorkflowDefinition, WorkflowRun
from workflows.realtime import publish_run
from workflows.services import gates, machine
from workflows.services.definitions import latest_version
from workflows.services.fields import clean_comment, clean_fields, missing
from workflows.services.task_items import task_create_for_run

CREATED = "workflow.run.created"


def ensure_same_organization(actor: Actor, obj) -> None:
    """Defence in depth behind the views' scoped lookups: a foreign run does not exist."""
    if obj.organization_id != getattr(actor.organization, "pk", None):
        raise Http404("No workflow run matches the given query.")


def lock(run_id) -> WorkflowRun:
    return (
        WorkflowRun.objects.select_for_update(of=("self",))
        .select_related("version__definition", "organization")
        .get(pk=run_id)
    )


def _same_org_or_error(actor, obj, name):
    if obj is not None and obj.organization_id != actor.organization.pk:
        raise ValidationError({name: f"No such {name} in this organization."})


def run_create(
    *,
    actor: Actor,
    definition: WorkflowDefinition,
    title: str,
    fields=None,
    team=None,
    incident=None,
    service=None,
    trigger_key: str | None = None,
    owner=None,
) -> WorkflowRun:
    """``owner`` defaults to the person starting it; a system job names whose run it is."""
    ensure_same_organization(actor, definition)
    actor.require(Capability.WORKFLOW_RUN, definition)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationError({"title": "A title of 1 to 200 characters."})
    for obj, name in ((team, "team"), (incident, "incident"), (service, "service")):
        _same_org_or_error(actor, obj, name)
    version = latest_version(definition)
    spec = version.parsed
    fields = clean_fields(spec, fields)
    now = timezone.now()
    try:
        with transaction.atomic():
            run = WorkflowRun.objects.create(
                organization=actor.organization,
                team=team or definition.team or getattr(incident, "team", None),
                version=version,
                incident=incident,
                service=service or getattr(incident, "service", None),
                owner=owner or actor.user,
                title=title,
                state=spec.initial,
                fields=fields,
                trigger_key=trigger_key,
                created_at=now,
                updated_at=now,
            )
            record(
                actor=actor,
                verb=CREATED,
                target=run,
                data={
                    "workflow": definition.key,
                    "version": version.number,
                    "state": run.state,
                    "title": title,
                    "incident": run.incident_id,
                    "service": run.service_id,
                },
            )
            _create_spec_tasks(actor, run, spec, now)
            if (gated := spec.gate_from(run.state)) is not None:
                gates.open_request(actor=actor, run=run, gated=gated, now=now)
            publish_run(run, CREATED)
    except IntegrityError:
        if trigger_key and (existing := WorkflowRun.objects.filter(trigger_key=trigger_key).first()):
            return existing  # started already (a trigger delivered twice)
        raise
    return run


def _create_spec_tasks(actor, run, spec, now) -> None:
    for item in spec.tasks:
        due = now + timedelta(minutes=item["due_minutes"]) if item.get("due_minutes") else None
        task_create_for_run(
            actor=actor,
            run=run,
            title=item["title"],
            description=item.get("description", ""),
            due_at=due,
        )


def transition(*, actor: Actor, run: WorkflowRun, event: str, fields=None, comment: str = "") -> WorkflowRun:
    ensure_same_organization(actor, run)
    actor.require(Capability.WORKFLOW_VIEW, run)
    spec = run.spec
    wanted = spec.transition(run.state, event)
    if wanted is not None and not guards.may_send(actor, wanted, run) and wanted.gate is None:
        raise PermissionDenied(f"You may not {wanted.label.lower()} this run.")
    fields = clean_fields(spec, fields)
    comment = clean_comment(comment)
    with transaction.atomic():
        locked = lock(run.pk)
        chosen = spec.transition(locked.state, event)
        if chosen is None:
            if _already_applied(spec, locked, event):
                return locked
            raise TransitionError(_not_possible(spec, locked, event))
        if chosen.gate is not None:
            raise TransitionError(
                f"{chosen.label} is decided by the approval gate, not sent as an event.", code="approval_gate"
            )
        if not guards.may_send(actor, chosen, locked):
            raise PermissionDenied(f"You may not {chosen.label.lower()} this run.")
        if absent := missing(chosen.required_fields, {**locked.fields, **fields}):
            raise ValidationError(
                {
                    f"fields.{key}": (
                        f"{spec.field_labels.get(key, key)} is required to {chosen.label.lower()}."
                    )
                    for key in absent
                }
            )
        machine.apply(
            actor=actor, run=locked, transition=chosen, now=timezone.now(), fields=fields, comment=comment
        )
    return locked


def _already_applied(spec, run, event) -> bool:
    if run.last_event != event:
        return False
    return any(t.event == event and t.target == run.state for t in spec.transitions)


def _not_possible(spec, run, event) -> str:
    state = spec.state(run.state)
    label = state.label if state else run.state
    known = {t.event for t in spec.transitions}
    if event not in known:
        return f"This workflow has no event {event!r}."
    if spec.is_terminal(run.state):
        return f"The run is {label.lower()}: it has ended."
    return f"Cannot {event} a run that is {label.lower()}."
