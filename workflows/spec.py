"""A workflow definition's spec: an explicit state machine, checked on every publish.

Shape (JSON)::

    {
      "fields": [{"key": "plan", "label": "Plan"}],            # optional; if given, the only field keys
      "states": [{"key": "CREATED", "label": "Created", "initial": true},
                 {"key": "DONE", "terminal": true}],
      "transitions": [
        {"from": "CREATED", "event": "submit", "to": "PENDING", "label": "Submit",
         "guard": {"capability": "workflow.run", "role": "operator", "required_fields": ["plan"]}},
        {"from": "PENDING", "event": "approve", "to": "DONE",
         "gate": {"approvers": {"users": [], "teams": [], "roles": ["manager"], "schedules": []},
                  "rule": "n_of_m", "required": 2, "timeout_minutes": 240, "remind_after_minutes": 60,
                  "fallback": {"users": [], "roles": ["owner"]},
                  "on_reject": "end", "end_state": "REJECTED"}}
      ],
      "tasks": [{"title": "Open a bridge", "description": "…", "due_minutes": 15}]   # created with a run
    }

The JSON Schema checks the shape; :func:`parse` then checks what a schema cannot (one initial state,
every reference names a state, one transition per (from, event), terminal states are dead ends) and
returns a frozen :class:`Spec` the services work from. Stored specs were checked when published, so
reading one back never fails on its own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jsonschema
from django.core.exceptions import ValidationError

from opsplatform.core.capabilities import MINIMUM_ROLE, Role

KEY = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]{0,47}$"}
EVENT = {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,47}$"}
LABEL = {"type": "string", "maxLength": 100}
IDS = {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 50, "uniqueItems": True}
ROLES = {"type": "array", "items": {"enum": Role.values}, "uniqueItems": True}
PEOPLE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"users": IDS, "teams": IDS, "roles": ROLES, "schedules": IDS},
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["states", "transitions"],
    "properties": {
        "fields": {
            "type": "array",
            "maxItems": 30,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key"],
                "properties": {"key": EVENT, "label": LABEL, "help": {"type": "string", "maxLength": 300}},
            },
        },
        "states": {
            "type": "array",
            "minItems": 2,
            "maxItems": 40,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key"],
                "properties": {
                    "key": KEY,
                    "label": LABEL,
                    "initial": {"type": "boolean"},
                    "terminal": {"type": "boolean"},
                },
            },
        },
        "transitions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 200,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["from", "event", "to"],
                "properties": {
                    "from": KEY,
                    "event": EVENT,
                    "to": KEY,
                    "label": LABEL,
                    "guard": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "capability": {"enum": sorted(MINIMUM_ROLE)},
                            "role": {"enum": Role.values},
                            "required_fields": {"type": "array", "items": EVENT, "uniqueItems": True},
                        },
                    },
                    "gate": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["approvers", "rule"],
                        "properties": {
                            "approvers": PEOPLE,
                            "rule": {"enum": ["n_of_m", "all"]},
                            "required": {"type": "integer", "minimum": 1, "maximum": 50},
                            "timeout_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
                            "remind_after_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
                            "fallback": PEOPLE,
                            "on_reject": {
                                "type": "string",
                                "pattern": r"^(end|back_to:[A-Za-z][A-Za-z0-9_]*)$",
                            },
                            "end_state": KEY,
                        },
                    },
                },
            },
        },
        "tasks": {
            "type": "array",
            "maxItems": 30,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": {"type": "string", "maxLength": 5000},
                    "due_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
                },
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
DEFAULT_CAPABILITY = "workflow.run"


@dataclass(frozen=True)
class People:
    users: tuple[int, ...] = ()
    teams: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()
    schedules: tuple[int, ...] = ()

    @classmethod
    def of(cls, raw: dict | None) -> People:
        raw = raw or {}
        return cls(*(tuple(raw.get(k, ())) for k in ("users", "teams", "roles", "schedules")))

    def __bool__(self):
        return bool(self.users or self.teams or self.roles or self.schedules)


@dataclass(frozen=True)
class Gate:
    approvers: People
    rule: str
    required: int
    timeout_minutes: int
    remind_after_minutes: int
    fallback: People
    reject_to: str  # the state a rejection sends the run to
    ends_on_reject: bool


@dataclass(frozen=True)
class Transition:
    source: str
    event: str
    target: str
    label: str
    capability: str
    role: str | None
    required_fields: tuple[str, ...]
    gate: Gate | None


@dataclass(frozen=True)
class State:
    key: str
    label: str
    initial: bool
    terminal: bool


@dataclass(frozen=True)
class Spec:
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    field_keys: tuple[str, ...] = ()
    field_labels: dict = field(default_factory=dict, hash=False)
    tasks: tuple[dict, ...] = ()

    @property
    def initial(self) -> str:
        return next(s.key for s in self.states if s.initial)

    def state(self, key: str) -> State | None:
        return next((s for s in self.states if s.key == key), None)

    def is_terminal(self, key: str) -> bool:
        state = self.state(key)
        return bool(state and state.terminal)

    def transition(self, source: str, event: str) -> Transition | None:
        return next((t for t in self.transitions if t.source == source and t.event == event), None)

    def outgoing(self, source: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == source]

    def gate_from(self, source: str) -> Transition | None:
        """The gated transition leaving ``source``: entering that state opens an approval request."""
        return next((t for t in self.outgoing(source) if t.gate is not None), None)


def _error_path(error) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "spec"


def _gate(raw: dict, source: str, keys: set, problems: list, where: str) -> Gate:
    on_reject = raw.get("on_reject", "end")
    if on_reject == "end":
        reject_to = raw.get("end_state", "")
        if reject_to not in keys:
            problems.append(f"{where}.end_state: a gate that ends the run on rejection names its end state.")
    else:
        reject_to = on_reject.split(":", 1)[1]
        if reject_to not in keys:
            problems.append(f"{where}.on_reject: unknown state {reject_to!r}.")
        elif reject_to == source:
            problems.append(f"{where}.on_reject: sending the run back to the gate's own state loops forever.")
    approvers = People.of(raw.get("approvers"))
    if not approvers:
        problems.append(f"{where}.approvers: name at least one user, team, role or schedule.")
    timeout = raw.get("timeout_minutes", 24 * 60)
    return Gate(
        approvers=approvers,
        rule=raw["rule"],
        required=raw.get("required", 1),
        timeout_minutes=timeout,
        remind_after_minutes=min(raw.get("remind_after_minutes", max(1, timeout // 2)), timeout),
        fallback=People.of(raw.get("fallback")),
        reject_to=reject_to,
        ends_on_reject=on_reject == "end",
    )


def _state_problems(states, keys) -> list[str]:
    problems = []
    if len(keys) != len(states):
        problems.append("states: each state key appears once.")
    if sum(s.initial for s in states) != 1:
        problems.append("states: exactly one state is initial.")
    if not any(s.terminal for s in states):
        problems.append("states: at least one state is terminal.")
    if any(s.initial and s.terminal for s in states):
        problems.append("states: the initial state cannot be terminal.")
    return problems


def parse(raw) -> Spec:
    """The checked spec, or a ValidationError listing every problem (``spec.states.2.key: …``)."""
    errors = sorted(_VALIDATOR.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValidationError({"spec": [f"{_error_path(e)}: {e.message}" for e in errors[:20]]})
    problems: list[str] = []
    states = tuple(
        State(
            s["key"],
            s.get("label") or s["key"].replace("_", " ").title(),
            bool(s.get("initial")),
            bool(s.get("terminal")),
        )
        for s in raw["states"]
    )
    keys = {s.key for s in states}
    problems += _state_problems(states, keys)
    terminal = {s.key for s in states if s.terminal}
    field_keys = tuple(f["key"] for f in raw.get("fields", ()))
    transitions, seen = [], set()
    for i, t in enumerate(raw["transitions"]):
        where = f"transitions.{i}"
        for end in ("from", "to"):
            if t[end] not in keys:
                problems.append(f"{where}.{end}: unknown state {t[end]!r}.")
        if t["from"] in terminal:
            problems.append(f"{where}.from: a terminal state has no way out.")
        if (t["from"], t["event"]) in seen:
            problems.append(f"{where}: ({t['from']}, {t['event']}) is defined twice.")
        seen.add((t["from"], t["event"]))
        guard = t.get("guard", {})
        required_fields = tuple(guard.get("required_fields", ()))
        if field_keys and (unknown := set(required_fields) - set(field_keys)):
            problems.append(
                f"{where}.guard.required_fields: not among the fields: {', '.join(sorted(unknown))}."
            )
        gate = _gate(t["gate"], t["from"], keys, problems, f"{where}.gate") if "gate" in t else None
        transitions.append(
            Transition(
                source=t["from"],
                event=t["event"],
                target=t["to"],
                label=t.get("label") or t["event"].replace("_", " ").capitalize(),
                capability=guard.get("capability", DEFAULT_CAPABILITY),
                role=guard.get("role"),
                required_fields=required_fields,
                gate=gate,
            )
        )
    gated = [t.source for t in transitions if t.gate is not None]
    if len(gated) != len(set(gated)):
        problems.append("transitions: at most one approval gate leaves each state.")
    if problems:
        raise ValidationError({"spec": problems})
    return Spec(
        states=states,
        transitions=tuple(transitions),
        field_keys=field_keys,
        field_labels={f["key"]: f.get("label") or f["key"] for f in raw.get("fields", ())},
        tasks=tuple(raw.get("tasks", ())),
    )
