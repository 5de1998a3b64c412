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

from audit.services import record, record_many
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.realtime.groups import one_trip
from workflows import guards
from workflows.errors import TransitionError
from workflows.models import Task, WorkflowDefinition, WorkflowRun
from workflows.realtime import publish_run, publish_task
from workflows.services import gates, machine
from workflows.services.definitions import latest_version
from workflows.services.fields import clean_comment, clean_fields, missing
from workflows.services.task_items import TASK_CREATED, created_entry, new_task_for_run

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


def _check_start(actor: Actor, definition: WorkflowDefinition, title: str, related: dict) -> str:
    """What every start checks; the title, stripped."""
    ensure_same_organization(actor, definition)
    actor.require(Capability.WORKFLOW_RUN, definition)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationError({"title": "A title of 1 to 200 characters."})
    for name, obj in related.items():
        _same_org_or_error(actor, obj, name)
    return title


def _new_run(actor, definition, version, *, title, fields, team, incident, service, trigger_key, owner, now):
    """A run in its version's initial state, not yet saved, with its template's tasks (unsaved)."""
    spec = version.parsed
    run = WorkflowRun(
        organization=actor.organization,
        # By id: a run of an incident names the incident's team and service without loading them.
        team_id=team.pk if team is not None else definition.team_id or getattr(incident, "team_id", None),
        version=version,
        incident=incident,
        service_id=service.pk if service is not None else getattr(incident, "service_id", None),
        owner=owner or actor.user,
        title=title,
        state=spec.initial,
        fields=fields,
        trigger_key=trigger_key,
        created_at=now,
        updated_at=now,
    )
    tasks = [
        new_task_for_run(
            actor=actor,
            run=run,
            title=item["title"],
            description=item.get("description", ""),
            due_at=now + timedelta(minutes=item["due_minutes"]) if item.get("due_minutes") else None,
            now=now,
        )
        for item in spec.tasks
    ]
    return run, tasks


def _created_entry(definition, version, run) -> tuple:
    """A saved new run's ledger entry: ``(target, verb, data)``."""
    return (
        run,
        CREATED,
        {
            "workflow": definition.key,
            "version": version.number,
            "state": run.state,
            "title": run.title,
            "incident": run.incident_id,
            "service": run.service_id,
        },
    )


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
    title = _check_start(actor, definition, title, {"team": team, "incident": incident, "service": service})
    version = latest_version(definition)
    spec = version.parsed
    fields = clean_fields(spec, fields)
    run, tasks = _new_run(
        actor,
        definition,
        version,
        title=title,
        fields=fields,
        team=team,
        incident=incident,
        service=service,
        trigger_key=trigger_key,
        owner=owner,
        now=timezone.now(),
    )
    try:
        with transaction.atomic():
            run.save(force_insert=True)
            _target, verb, data = _created_entry(definition, version, run)
            record(actor=actor, verb=verb, target=run, data=data)
            for task in Task.objects.bulk_create(tasks):  # each has the run's id now
                _target, verb, data = created_entry(task)
                record(actor=actor, verb=verb, target=task, data=data)
                publish_task(task, verb)
            if (gated := spec.gate_from(run.state)) is not None:
                gates.open_request(actor=actor, run=run, gated=gated, now=run.created_at)
            publish_run(run, CREATED)
    except IntegrityError:
        if trigger_key and (existing := WorkflowRun.objects.filter(trigger_key=trigger_key).first()):
            return existing  # started already (a trigger delivered twice)
        raise
    return run


def runs_create_for_incidents(
    *, actor: Actor, definition: WorkflowDefinition, starts: list[tuple]
) -> list[WorkflowRun]:
    """Runs of one definition for many incidents, in the caller's transaction: ``starts`` are
    ``(incident, title, trigger_key)``, each run owned by ``actor``. The same checks, rows and
    ledger entries as ``run_create`` one by one, written with one statement for the runs, one for
    their tasks and one for the entries: what the playbook tick does for a storm's new incidents.

    A version whose first state opens an approval gate is started run by run (``run_create``). A
    trigger key that exists already fails the whole call (``IntegrityError``): the caller holds
    what keeps two starts of one key apart.
    """
    version = latest_version(definition)
    spec = version.parsed
    if spec.gate_from(spec.initial) is not None:
        return [
            run_create(actor=actor, definition=definition, title=title, incident=incident, trigger_key=key)
            for incident, title, key in starts
        ]
    fields = clean_fields(spec, None)
    now = timezone.now()
    made = []
    for incident, wanted_title, key in starts:
        made.append(
            _new_run(
                actor,
                definition,
                version,
                title=_check_start(actor, definition, wanted_title, {"incident": incident}),
                fields=fields,
                team=None,
                incident=incident,
                service=None,
                trigger_key=key,
                owner=None,
                now=now,
            )
        )
    # The caller's transaction if it has one; the runs' and tasks' pushes in one trip after commit.
    with transaction.atomic(savepoint=False), one_trip():
        runs = WorkflowRun.objects.bulk_create([run for run, _tasks in made])
        # Each task's run has its id now: one statement for every run's tasks.
        Task.objects.bulk_create([task for _run, run_tasks in made for task in run_tasks])
        entries = []
        for run, run_tasks in made:
            entries += [_created_entry(definition, version, run), *map(created_entry, run_tasks)]
            publish_run(run, CREATED)
            for task in run_tasks:
                publish_task(task, TASK_CREATED)
        record_many(entries=entries, actor=actor)
    return runs


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
