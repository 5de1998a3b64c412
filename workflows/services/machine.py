"""Applying one transition to a locked run: the state, the ledger entry, the gate it may enter, the
realtime push. Callers (``runs.transition`` for people, ``approvals.decide`` for a gate) have
checked the guard and hold the run's row lock."""

from audit.services import record
from opsplatform.core.actors import Actor
from workflows.models import WorkflowRun
from workflows.realtime import publish_run
from workflows.services import gates
from workflows.spec import Transition

TRANSITIONED = "workflow.run.transitioned"


def apply(
    *, actor: Actor, run: WorkflowRun, transition: Transition, now, fields=None, comment="", data=None
) -> WorkflowRun:
    spec = run.spec
    source = run.state
    if spec.gate_from(source) is not None:
        gates.close_pending(actor=actor, run=run, now=now)
    run.state = transition.target
    run.last_event = transition.event
    if fields:
        run.fields = {**run.fields, **fields}
    run.updated_at = now
    run.save(update_fields=["state", "last_event", "fields", "updated_at"])
    record(
        actor=actor,
        verb=TRANSITIONED,
        target=run,
        data={
            "workflow": run.version.definition.key,
            "version": run.version.number,
            "event": transition.event,
            "from": source,
            "to": transition.target,
            "terminal": spec.is_terminal(transition.target),
            "comment": comment,
            "fields": sorted(fields or ()),
            **(data or {}),
        },
    )
    gated = spec.gate_from(transition.target)
    if gated is not None:
        gates.open_request(actor=actor, run=run, gated=gated, now=now)
    publish_run(run, TRANSITIONED)
    return run
