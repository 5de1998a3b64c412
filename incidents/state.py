"""The incident state machine, in one table. Every transition is validated here and nowhere else.

An action asked of an incident already in its target state is a no-op (``NOOP``), not an error:
two people pressing Acknowledge at once get one acknowledgment and no complaint.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from incidents.models import Status

T, A, S, R = Status.TRIGGERED, Status.ACKNOWLEDGED, Status.SNOOZED, Status.RESOLVED


class TransitionError(ValidationError):
    """The action is not allowed from the incident's current state."""


@dataclass(frozen=True)
class Transition:
    sources: frozenset  # states the action may start from
    target: str | None  # resulting state (None: the state does not change)
    done_in: frozenset = frozenset()  # states in which the action is already done: no-op


TRANSITIONS = {
    "acknowledge": Transition(frozenset({T, S}), A, frozenset({A})),
    "resolve": Transition(frozenset({T, A, S}), R, frozenset({R})),
    "snooze": Transition(frozenset({T, A, S}), S),
    "unsnooze": Transition(frozenset({S}), T, frozenset({T, A, R})),
    "reopen": Transition(frozenset({R}), T, frozenset({T, A, S})),
    "escalate": Transition(frozenset({T, A}), T),
    "merge": Transition(frozenset({T, A, S}), R),
    # Edits that keep the state: allowed on any open incident.
    "edit": Transition(frozenset({T, A, S}), None),
    # Notes may be added to resolved incidents too (postmortem findings).
    "note": Transition(frozenset({T, A, S, R}), None),
}

NOOP = object()


def check(action: str, status: str):
    """Return the target state, ``NOOP`` when already done, or raise TransitionError."""
    transition = TRANSITIONS[action]
    if status in transition.done_in:
        return NOOP
    if status not in transition.sources:
        raise TransitionError(
            f"Cannot {action} an incident that is {Status(status).label.lower()}.", code="invalid_transition"
        )
    return transition.target if transition.target is not None else status


def allowed_actions(status: str) -> set[str]:
    return {name for name, t in TRANSITIONS.items() if status in t.sources}
